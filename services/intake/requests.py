"""Idempotent commands of intake: a request repeated with the same Idempotency-Key gets the first answer.

The convention itself (keys per office and route, bound to the body, one effect for concurrent
identical requests) is `shared.idempotency`; this module ties intake's commands to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.clock import Clock
from shared.idempotency import Answer, Outcome, RequestClaims, run_once


@dataclass(frozen=True)
class RequestKey:
    """Who sent a command to which route, with which Idempotency-Key (if any) and which body."""

    office_id: str
    route: str
    key: str | None
    body: Mapping[str, Any] = field(default_factory=dict)


async def once(
    request: RequestKey, action: Callable[[uuid.UUID], Awaitable[Answer]], *, claims: RequestClaims, clock: Clock,
) -> Outcome:
    """Run a command once per (office, route, key); a retry gets the first answer, other data is refused."""
    return await run_once(claims, office_id=request.office_id, route=request.route, key=request.key,
                          body=request.body, action=action, clock=clock)
