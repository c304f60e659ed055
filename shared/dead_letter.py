"""Error middleware for consumers: poison to the dead-letter topic, transient failures back off.

- A message that cannot be parsed or validated goes to `<topic>.dlq` with the reason in its
  headers, and the partition moves on.
- A transient failure (database or broker unreachable) is retried in place with exponential
  backoff capped at `max_delay`; the offset is not committed meanwhile, so nothing is skipped.
- Any other error is retried a few times, then dead-lettered as a handler error so one bad
  message cannot stop its partition.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
from faststream import BaseMiddleware
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout, ServerSelectionTimeoutError

from shared.logs import mask_personal
from shared.metrics import ConsumerMetrics

log = logging.getLogger("ektp.dead_letter")
T = TypeVar("T")
R = TypeVar("R")


class TransientError(Exception):
    """A failure that may pass on retry (a lost race, a dependency briefly away)."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionFailure,
    AutoReconnect,
    ServerSelectionTimeoutError,
    ExecutionTimeout,
    KafkaError,
    ConnectionError,
    TimeoutError,
)


class PoisonMessage(Exception):
    """A message that will never succeed: its reason goes with it to the dead-letter topic."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and messages, without the input values (they may be personal data)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:10]:
        where = ".".join(str(p) for p in error["loc"]) or "(message)"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def classify(exc: BaseException) -> PoisonMessage | None:
    """The poison reason of an exception, or None when it may succeed on retry."""
    if isinstance(exc, PoisonMessage):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        return PoisonMessage("not_utf8", "the message is not UTF-8 text")
    if isinstance(exc, json.JSONDecodeError):
        return PoisonMessage("not_json", f"not valid JSON at position {exc.pos}")
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False)
        first: dict[str, Any] = dict(errors[0]) if errors else {}
        if first.get("type") == "json_invalid":
            return PoisonMessage("not_json", describe_validation_error(exc))
        where = tuple(first.get("loc") or ("",))
        if first.get("type") == "union_tag_invalid" or where[0] == "event_type":
            return PoisonMessage("unknown_event_type", describe_validation_error(exc))
        if first.get("type") == "union_tag_not_found":
            return PoisonMessage("missing_event_type", describe_validation_error(exc))
        return PoisonMessage("invalid_event", describe_validation_error(exc))
    if isinstance(exc, RecursionError):
        return PoisonMessage("too_deep", "the message nests too deeply")
    return None


class DeadLetterPolicy:
    """Builds the middleware; `bind` gives it the broker publish function once the broker exists."""

    def __init__(
        self,
        *,
        service: str,
        metrics: ConsumerMetrics,
        first_delay: float = 0.2,
        max_delay: float = 15.0,
        handler_error_attempts: int = 3,
    ) -> None:
        self.service = service
        self.metrics = metrics
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.handler_error_attempts = handler_error_attempts
        self._publish: Callable[..., Awaitable[Any]] | None = None
        self.stopping = asyncio.Event()

    def bind(self, publish: Callable[..., Awaitable[Any]]) -> None:
        self._publish = publish

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, capped: attempt 1 waits ~first_delay."""
        base = min(self.max_delay, self.first_delay * (2 ** (attempt - 1)))
        return base * random.uniform(0.8, 1.2)

    async def dead_letter_record(self, record: Any, poison: PoisonMessage) -> None:
        """Park one consumed record on `<topic>.dlq`; the reason and source position go in headers."""
        topic = record.topic
        headers = {
            "x-dlq-reason": poison.reason,
            "x-dlq-detail": mask_personal(poison.detail)[:1000],
            "x-dlq-source-topic": topic,
            "x-dlq-source-partition": str(record.partition),
            "x-dlq-source-offset": str(record.offset),
            "x-dlq-service": self.service,
        }
        if self._publish is None:
            raise RuntimeError("DeadLetterPolicy.bind was never called")
        await self._publish(
            record.value or b"",
            topic=f"{topic}.dlq",
            key=record.key,
            headers=headers,
        )
        self.metrics.dead_letters.labels(self.service, topic, poison.reason).inc()
        log.warning(
            "dead-lettered %s[%s]@%s: %s", topic, record.partition, record.offset, poison.reason
        )

    async def run(self, call: Callable[[], Awaitable[T]], records: Sequence[Any], *,
                  stopping: asyncio.Event) -> T | None:
        """`call()` for consumed `records`, under this policy: a poison error parks every record (and
        returns None), another handler error is retried and then parked, a transient one is retried
        with backoff until it passes or `stopping` is set (then it is raised: nothing is committed)."""
        topic = getattr(records[0], "topic", "?") if records else "?"
        try:
            return await self._until_done(call, topic, stopping=stopping, handler_attempts=self.handler_error_attempts)
        except PoisonMessage as poison:
            for record in records:
                await self.dead_letter_record(record, poison)
            return None

    async def run_isolating(self, call: Callable[[Sequence[R]], Awaitable[Any]], items: Sequence[R], *,
                            record_of: Callable[[R], Any], stopping: asyncio.Event) -> None:
        """`call(items)` under this policy, parking only the item that fails.

        When a batch fails with poison or a handler error, its two halves are applied apart, in
        order, and so on down to the one item that fails: that item alone is retried as `run`
        retries and then parked (`record_of` gives its consumed record); the others are applied.
        `call` must be safe to repeat for items a failed attempt half applied (apply-once writes).
        """
        if len(items) <= 1:
            await self.run(lambda: call(items), [record_of(item) for item in items], stopping=stopping)
            return
        topic = getattr(record_of(items[0]), "topic", "?")
        try:
            await self._until_done(lambda: call(items), topic, stopping=stopping, handler_attempts=1)
        except PoisonMessage as poison:
            log.warning("a batch of %d records on %s failed (%s); applying its halves apart",
                        len(items), topic, poison.reason)
            middle = len(items) // 2
            await self.run_isolating(call, items[:middle], record_of=record_of, stopping=stopping)
            await self.run_isolating(call, items[middle:], record_of=record_of, stopping=stopping)

    async def _until_done(self, call: Callable[[], Awaitable[T]], topic: str, *, stopping: asyncio.Event,
                          handler_attempts: int) -> T:
        """`call()` until it passes. A transient error backs off (raised once `stopping` is set); another
        error is tried `handler_attempts` times in all, then raised as a PoisonMessage."""
        attempt = 0
        handler_errors = 0
        while True:
            try:
                return await call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                poison = classify(exc)
                if poison is None and not isinstance(exc, TRANSIENT_ERRORS):
                    handler_errors += 1
                    if handler_errors >= handler_attempts:
                        log.exception("handler error on %s, not retried", topic)
                        raise PoisonMessage("handler_error", type(exc).__name__) from exc
                    log.exception("handler error on %s, will retry", topic)
                    await asyncio.sleep(self.delay(handler_errors))
                    continue
                if poison is exc:
                    raise
                if poison is not None:
                    raise poison from exc
                if stopping.is_set():
                    raise
                attempt += 1
                reason = type(exc).__name__
                self.metrics.retries.labels(self.service, topic, reason).inc()
                wait = self.delay(attempt)
                log.warning("transient %s on %s, retry %d in %.1f s", reason, topic, attempt, wait)
                try:
                    await asyncio.wait_for(stopping.wait(), timeout=wait)
                except TimeoutError:
                    pass

    def __call__(self, msg: Any, /, *, context: Any) -> _DeadLetterMiddleware:
        return _DeadLetterMiddleware(msg, context=context, policy=self)


class _DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, policy: DeadLetterPolicy) -> None:
        super().__init__(msg, context=context)
        self.policy = policy

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        return await self.policy.run(lambda: call_next(msg), records, stopping=self.policy.stopping)
