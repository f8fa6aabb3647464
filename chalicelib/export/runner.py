"""Where an export job runs: the export worker Lambda on AWS (an asynchronous invocation, which
Lambda retries once and then drops; the job is then shown as failed and may be asked again), a
thread of the local server otherwise. Both hand the same event to the same handler
(ExportService.handle): locally there is no second code path."""
from __future__ import annotations

import json
import threading
from functools import cached_property
from typing import Any, Callable, Dict, Optional

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.observability import logger

Event = Dict[str, str]


class RunnerUnavailable(Exception):
    """The job could not be started."""


class LambdaRunner:
    def __init__(self, function_name: str, region: str) -> None:
        self.function_name, self.region = function_name, region

    @cached_property
    def client(self) -> Any:
        import boto3
        return boto3.client("lambda", region_name=self.region)

    def start(self, event: Event) -> None:
        try:
            self.client.invoke(FunctionName=self.function_name, InvocationType="Event",
                               Payload=json.dumps(event).encode())
        except (BotoCoreError, ClientError) as error:
            raise RunnerUnavailable(str(error)) from error


class ThreadRunner:
    """The local stage and tests: the handler on a thread of this process."""

    def __init__(self, handler: Optional[Callable[[Event], None]] = None) -> None:
        self.handler = handler
        self.threads: list[threading.Thread] = []

    def start(self, event: Event) -> None:
        if self.handler is None:
            raise RunnerUnavailable("no export handler")
        thread = threading.Thread(target=self._run, args=(dict(event),), name="export-worker", daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, event: Event) -> None:
        assert self.handler is not None  # noqa: S101 - set before start() (checked there)
        try:
            self.handler(event)
        except Exception:  # noqa: BLE001 - a thread's failure is logged, as Lambda would log it
            logger.exception("export worker failed")

    def wait(self, timeout: float = 60.0) -> None:
        """Tests and benchmarks: until the jobs started so far have ended."""
        for thread in list(self.threads):
            thread.join(timeout)


def runner_for(function_name: Optional[str], region: str, handler: Callable[[Event], None]):
    """The export worker Lambda when its name is configured (AWS), else a thread running `handler`."""
    return LambdaRunner(function_name, region) if function_name else ThreadRunner(handler)
