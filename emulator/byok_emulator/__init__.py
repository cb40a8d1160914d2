"""moto, taught the AWS behaviour byok-guard depends on (tests and the demo only; not in the layer).

moto does not enforce KMS key states and its S3 never calls KMS; this package patches both so
that a disabled key really breaks encryption in the emulator, as AWS-FACTS.md describes.
"""
