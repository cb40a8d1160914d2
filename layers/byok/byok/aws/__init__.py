"""Thin boto3 adapters: the only place (with ``byok.store``) where boto3 is imported."""
