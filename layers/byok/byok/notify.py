"""Publish customer notifications to the one SNS topic (client injected, no boto3 import).

Message attributes carry the environment id and severity so each customer's subscription can
filter to its own environments (an SNS filter policy on ``environment_id``).
"""

from __future__ import annotations

from typing import Any

from byok.errors import ByokError, TransientError
from byok.permissions import Resource, declare
from byok.remediation.messages import Notification

PERMISSIONS = declare(("sns:Publish",), Resource.NOTIFICATION_TOPIC)


class Notifier:
    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self.client = sns_client
        self.topic_arn = topic_arn

    def publish(self, note: Notification) -> str:
        """Publish one message; returns the SNS message id."""
        try:
            answer = self.client.publish(
                TopicArn=self.topic_arn,
                Subject=note.subject,
                Message=note.body,
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in note.attributes.items()
                },
            )
        except Exception as exc:  # botocore errors: classified in one place
            from byok.aws.errors import classify

            fact = classify(exc, "Publish")
            error = TransientError if fact.transient else ByokError
            raise error(f"sns publish to {self.topic_arn}: {fact.context}") from exc
        return str(answer.get("MessageId", ""))
