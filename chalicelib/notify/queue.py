"""The notification queue (SQS) between the stream handler and the delivery worker: sends in
batches of ten, and puts a message back for later (backoff). On AWS the queue, its dead-letter
queue and the Lambda event source mappings come from the template; locally and in tests, moto's
queue is made by `ensure_queues`, and notify/local.py stands in for the event source mappings."""
from __future__ import annotations

import json
from functools import cached_property
from typing import Any, Dict, List, Optional

MAX_DEFER_SECONDS = 43_200  # SQS's longest visibility timeout
DLQ_AFTER_RECEIVES = 10  # a message the worker failed this often (a bug, an outage) goes to the DLQ


class QueueUnavailable(Exception):
    """SQS refused some of a batch: the stream handler fails, and its batch is retried."""


class SqsQueue:
    def __init__(self, url: Optional[str], region: str, endpoint: Optional[str] = None) -> None:
        self.url, self.region, self.endpoint = url, region, endpoint
        self.sent = 0  # messages sent by this container (the benchmark's count of SQS calls)
        self.calls = 0

    @cached_property
    def client(self) -> Any:
        import boto3
        return boto3.client("sqs", region_name=self.region, endpoint_url=self.endpoint)

    def send(self, messages: List[Dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            batch = messages[start:start + 10]
            self.calls += 1
            answer = self.client.send_message_batch(QueueUrl=self.url, Entries=[
                {"Id": str(index), "MessageBody": json.dumps(message, separators=(",", ":"))}
                for index, message in enumerate(batch)])
            if answer.get("Failed"):
                raise QueueUnavailable(f"SQS refused {len(answer['Failed'])} of {len(batch)} messages")
            self.sent += len(batch)

    def defer(self, receipt_handle: str, seconds: int) -> None:
        """See this message again in `seconds` (its receipt stays with the worker's batch)."""
        self.calls += 1
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle,
                                              VisibilityTimeout=max(0, min(MAX_DEFER_SECONDS, int(seconds))))


def ensure_queues(queue: SqsQueue, name: str, visibility_seconds: int = 30) -> str:
    """Local runs and tests: the queue and its dead-letter queue in moto, as the template makes them."""
    client = queue.client
    dead = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue.url = client.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility_seconds),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": DLQ_AFTER_RECEIVES})
    })["QueueUrl"]
    return queue.url
