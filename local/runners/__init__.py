"""Local event sources for a Chalice app: what AWS Lambda's event source mappings and EventBridge
rules do in production, with the same event shapes.

* ``on_sqs_message``      → :class:`~local.runners.sqs.SQSRunner` (``sqs_receivers`` receiving threads
  per handler, invoking it on ``sqs_concurrency`` threads)
* ``schedule``            → :class:`~local.runners.schedule.ScheduleRunner` (one thread for all)
* ``on_dynamodb_record``  → :class:`~local.runners.streams.DynamoDBStreamRunner` (one per handler)

Other event sources (S3, SNS, Kinesis, ``on_cw_event`` patterns) are not emulated; they are listed
in the log at start. Usage::

    runners = EventRunners(app, "http://127.0.0.1:4566", "ap-southeast-1").start()
    runners.wait_ready(10)
    ...
    runners.stop()
"""

from __future__ import annotations

import time
from collections.abc import Collection
from types import TracebackType
from typing import Any

from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from local.runners.base import DEFAULT_ACCOUNT_ID, DEFAULT_STAGE, LOG, Runner
from local.runners.schedule import Clock, ScheduleError, ScheduleRunner
from local.runners.sqs import SQSRunner
from local.runners.streams import DynamoDBStreamRunner

__all__ = [
    "DynamoDBStreamRunner",
    "EventRunners",
    "SQSRunner",
    "ScheduleError",
    "ScheduleRunner",
]


class EventRunners:
    """Every runner ``app`` needs, started together in daemon threads and stopped together.

    ``include`` limits the runners to the handlers of those names (all by default).
    ``clock`` and ``time_scale`` go to the schedule runner; the other keywords tune the pollers.
    Building raises :class:`ScheduleError` for a bad schedule expression. Nothing talks to AWS
    before ``start()``.
    """

    def __init__(
        self,
        app: Chalice,
        endpoint_url: str | None,
        region: str,
        *,
        stage: str = DEFAULT_STAGE,
        account_id: str = DEFAULT_ACCOUNT_ID,
        include: Collection[str] | None = None,
        clock: Clock | None = None,
        time_scale: float = 1.0,
        sqs_wait_seconds: int = 1,
        sqs_concurrency: int = 5,
        sqs_receivers: int = 1,
        stream_poll_interval_s: float = 0.5,
        stream_max_retries: int = 3,
        stream_retry_backoff_s: float = 0.2,
    ) -> None:
        self.app = app
        self.sqs: list[SQSRunner] = []
        self.streams: list[DynamoDBStreamRunner] = []
        self.schedule: ScheduleRunner | None = None
        has_schedule = False
        for config in app.event_sources:
            if include is not None and config.name not in include:
                continue
            if isinstance(config, SQSEventConfig):
                # Lambda runs several invocations of a function on one queue at once (five to start
                # with): timers due together are not handled one after another.
                self.sqs.append(
                    SQSRunner(
                        app,
                        config,
                        endpoint_url=endpoint_url,
                        region=region,
                        stage=stage,
                        wait_seconds=sqs_wait_seconds,
                        concurrency=sqs_concurrency,
                        receivers=sqs_receivers,
                    )
                )
            elif isinstance(config, DynamoDBEventConfig):
                self.streams.append(
                    DynamoDBStreamRunner(
                        app,
                        config,
                        endpoint_url=endpoint_url,
                        region=region,
                        stage=stage,
                        poll_interval_s=stream_poll_interval_s,
                        max_retries=stream_max_retries,
                        retry_backoff_s=stream_retry_backoff_s,
                    )
                )
            elif isinstance(config, ScheduledEventConfig):
                has_schedule = True
            else:
                LOG.warning(
                    "%s: %s (%s) is not emulated locally", app.app_name, config.name, type(config).__name__
                )
        if has_schedule:
            self.schedule = ScheduleRunner(
                app,
                region=region,
                account_id=account_id,
                stage=stage,
                clock=clock,
                time_scale=time_scale,
                include=include,
            )

    @property
    def runners(self) -> list[Runner]:
        every: list[Runner] = [*self.sqs, *self.streams]
        if self.schedule is not None:
            every.append(self.schedule)
        return every

    def start(self) -> EventRunners:
        for runner in self.runners:
            runner.start()
        LOG.info("%s: %d event runner(s) started", self.app.app_name, len(self.runners))
        return self

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every runner is positioned (queues found, stream iterators taken).

        False when some are still not ready after ``timeout`` s (e.g. a queue that does not exist).
        """
        deadline = time.monotonic() + timeout
        return all(runner.wait_ready(max(0.0, deadline - time.monotonic())) for runner in self.runners)

    def fire_now(self, name: str) -> dict[str, Any]:
        """Fire the ``@app.schedule`` handler ``name`` now; see :meth:`ScheduleRunner.fire_now`."""
        if self.schedule is None:
            raise KeyError(name)
        return self.schedule.fire_now(name)

    def stop(self, timeout: float = 5.0) -> bool:
        """Signal every runner, then join them all within ``timeout`` s in total.

        True when every thread ended; the stragglers (a handler still running) are logged. A runner
        stops between invocations, never in the middle of one.
        """
        for runner in self.runners:
            runner.request_stop()
        deadline = time.monotonic() + timeout
        stuck = [r.name for r in self.runners if not r.join(max(0.0, deadline - time.monotonic()))]
        if stuck:
            LOG.warning(
                "%s: runner(s) still busy after %.1f s: %s", self.app.app_name, timeout, ", ".join(stuck)
            )
        return not stuck

    def __enter__(self) -> EventRunners:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
