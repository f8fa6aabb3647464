"""Local runs and tests: what Lambda's event source mappings do on AWS, over moto. A thread per
table reads the table's DynamoDB stream (moto records every committed write, transactions
included) and hands each batch, in Lambda's event shape, to the same stream handler as the
`notify_fanout` Lambda; a thread receives the notification queue's messages and hands them to the
same delivery worker as the `notify_delivery` Lambda, deleting those it did not report failed
(those come back when their visibility ends, and go to the dead-letter queue after
DLQ_AFTER_RECEIVES receives, as on AWS). A thread stands in for EventBridge's schedules: it
calls the scheduled Lambdas' handlers (the consent expiry and heartbeat sweeps) at their
periods. No other code path: only the polling and the timing are local."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import boto3
from botocore.config import Config

from chalicelib.notify.queue import SqsQueue, ensure_queues
from chalicelib.observability import logger

Handler = Callable[[Dict[str, Any]], Any]
Scheduled = Tuple[str, float, Callable[[], Any]]  # a name, a period in seconds, what runs then
POLL_SECONDS = 0.02  # the first wait after an empty poll; it doubles while nothing comes, up to IDLE_SECONDS
IDLE_SECONDS = 0.25
CONCURRENT_BATCHES = 5  # Lambda starts with five concurrent SQS batches


class LocalPipeline:
    def __init__(self, tables: Sequence[str], fan_out: Handler, queue: SqsQueue, deliver: Handler, region: str,
                 endpoint: Optional[str] = None, queue_name: str = "mes-local-notify",
                 schedules: Sequence[Scheduled] = ()) -> None:
        self.tables, self.fan_out, self.queue, self.deliver = list(tables), fan_out, queue, deliver
        self.schedules = list(schedules)
        self.region, self.endpoint, self.queue_name = region, endpoint, queue_name
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()
        self.stream_batches = 0
        self._batches = ThreadPoolExecutor(max_workers=CONCURRENT_BATCHES, thread_name_prefix="notify-batch")

    def start(self) -> "LocalPipeline":
        if self.queue.url is None:
            ensure_queues(self.queue, self.queue_name)
        dynamodb = boto3.client("dynamodb", region_name=self.region, endpoint_url=self.endpoint)
        # Stream ARNs name an account, which botocore would turn into an account endpoint that moto
        # does not serve.
        streams = boto3.client("dynamodbstreams", region_name=self.region, endpoint_url=self.endpoint,
                               config=Config(account_id_endpoint_mode="disabled"))
        for table in self.tables:
            arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                  ShardIteratorType="LATEST")["ShardIterator"]
            self._spawn(f"stream-{table}", self._read_stream, streams, arn, iterator)
        self._spawn("notify-queue", self._read_queue)
        if self.schedules:
            self._spawn("notify-schedules", self._run_schedules)
        return self

    def stop(self) -> None:
        """Stop reading, and wait for the batches in hand (each bounded by the webhook's deadline)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._batches.shutdown(wait=True)

    def settle(self, timeout: float = 10.0) -> bool:
        """Tests and benchmarks: until the streams are read and the queue is empty, nothing in hand."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            attributes = self.queue.client.get_queue_attributes(QueueUrl=self.queue.url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            waiting = int(attributes["ApproximateNumberOfMessages"]) + \
                int(attributes["ApproximateNumberOfMessagesNotVisible"])
            quiet = quiet + 1 if waiting == 0 and self._busy == 0 else 0
            if quiet * 0.05 > 2 * IDLE_SECONDS:  # longer than a stream reader may sleep
                return True
            time.sleep(0.05)
        return False

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _working(self, delta: int) -> None:
        with self._lock:
            self._busy += delta

    def _read_stream(self, streams: Any, arn: str, iterator: str) -> None:
        wait = POLL_SECONDS
        while not self._stop.is_set():
            records: List[Dict[str, Any]] = []
            self._working(1)
            try:
                answer = streams.get_records(ShardIterator=iterator, Limit=100)
                records = answer.get("Records") or []
                if records:
                    for record in records:
                        record["eventSourceARN"] = arn  # as Lambda adds it
                        created = record["dynamodb"].get("ApproximateCreationDateTime")
                        if hasattr(created, "timestamp"):
                            record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()
                    self._handle_stream_batch(records)
                iterator = answer.get("NextShardIterator") or iterator
            except Exception:  # noqa: BLE001 - the stream goes on (moto reset at a test's end)
                if not self._stop.is_set():
                    logger.exception("local stream reader failed")
            finally:
                self._working(-1)
            wait = POLL_SECONDS if records else min(IDLE_SECONDS, wait * 2)
            self._stop.wait(wait)

    def _handle_stream_batch(self, records: List[Dict[str, Any]]) -> None:
        """Lambda retries a failed batch; so does this, three times, then goes on (logged)."""
        self.stream_batches += 1
        for attempt in range(3):
            try:
                self.fan_out({"Records": records})
                return
            except Exception:  # noqa: BLE001 - logged; Lambda would retry the same way
                logger.exception("notify fan-out failed", extra={"attempt": attempt + 1})
                time.sleep(0.1)

    def _run_schedules(self) -> None:
        """As EventBridge: each handler at its period (the first run one period after the start)."""
        next_run = {name: time.monotonic() + period for name, period, _ in self.schedules}
        while not self._stop.is_set():
            for name, period, run in self.schedules:
                if time.monotonic() < next_run[name]:
                    continue
                next_run[name] = time.monotonic() + period
                try:
                    run()
                except Exception:  # noqa: BLE001 - as a scheduled Lambda: logged, and the next run comes
                    if not self._stop.is_set():
                        logger.exception("local scheduled run failed", extra={"schedule": name})
            self._stop.wait(min(1.0, min(period for _, period, _ in self.schedules)))

    def _read_queue(self) -> None:
        """As Lambda's SQS poller: several batches in hand at once (CONCURRENT_BATCHES), so that a
        batch held up by a slow endpoint never holds back the next messages."""
        client = self.queue.client
        pool = self._batches
        in_hand = threading.Semaphore(CONCURRENT_BATCHES)
        wait = POLL_SECONDS
        while not self._stop.is_set():
            if not in_hand.acquire(timeout=POLL_SECONDS):
                continue
            try:
                answer = client.receive_message(QueueUrl=self.queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                AttributeNames=["All"])
                messages = answer.get("Messages") or []
            except Exception:  # noqa: BLE001 - the queue goes on (moto reset at a test's end)
                messages = []
                if not self._stop.is_set():
                    logger.exception("local queue reader failed")
            if not messages:
                in_hand.release()
                wait = min(IDLE_SECONDS, wait * 2)
                self._stop.wait(wait)
                continue
            wait = POLL_SECONDS
            self._working(1)
            pool.submit(self._invoke, client, messages, in_hand)

    def _invoke(self, client: Any, messages: List[Dict[str, Any]], in_hand: threading.Semaphore) -> None:
        try:
            event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                                  "body": m["Body"], "attributes": m.get("Attributes", {}),
                                  "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": self.region}
                                 for m in messages]}
            failed = {f["itemIdentifier"] for f in (self.deliver(event) or {}).get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                client.delete_message_batch(QueueUrl=self.queue.url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        except Exception:  # noqa: BLE001 - as Lambda: the batch's messages come back
            if not self._stop.is_set():
                logger.exception("notification batch failed")
        finally:
            self._working(-1)
            in_hand.release()


def local_pipeline_for(settings: Any, queue: SqsQueue, fan_out: Handler, deliver: Handler,
                       schedules: Sequence[Scheduled] = ()) -> Optional[LocalPipeline]:
    """The local pipeline: started at once by `make run` (the local stage, whose tables exist before
    the app is imported), left to the tests to start in theirs; None on AWS, where the template's
    event source mappings and schedules do this."""
    if settings.notify_queue_url is not None or not settings.demo_sign_in:
        return None
    pipeline = LocalPipeline([settings.records_table, settings.consents_table, settings.audit_table], fan_out,
                             queue, deliver, settings.region, settings.dynamodb_endpoint, schedules=schedules)
    # Only against an embedded DynamoDB (moto's server): never onto a real account's streams or queues.
    return pipeline.start() if settings.is_local and settings.dynamodb_endpoint else pipeline
