"""Composition root of the intake service: builds clients, routes and the broker."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid

from fastapi import FastAPI

from services.intake.background import BackgroundTasks
from services.intake.config import IntakeSettings
from services.intake.consumers import register_consumers
from services.intake.http import router
from services.intake.ports import ImportLimits, IntakeDeps
from services.intake.store import AUDIT, REQUESTS, ImportJobs, Reviews, Roster
from shared.areas import load_areas
from shared.audit import AuditTrail
from shared.clock import Clock, system_clock
from shared.mongo import MongoRequestClaims
from shared.runtime import ServiceRuntime
from shared.service_app import assemble_app

SERVICE = "intake"
log = logging.getLogger("ektp.intake")


def replica_name() -> str:
    """This process among intake replicas: host (a container's name), process id and a random part,
    so a restarted process never takes a stopped one's jobs for its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def create_app(settings: IntakeSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The intake API. Nothing connects until the app starts."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    db = runtime.db
    roster = Roster(db)
    jobs = ImportJobs(db, owner=replica_name())
    lease = dt.timedelta(seconds=settings.import_lease_seconds)
    background = BackgroundTasks()
    register_consumers(runtime.broker, roster=roster, metrics=runtime.metrics, dead_letters=runtime.dead_letters)
    audit = AuditTrail(db[AUDIT], service=SERVICE)
    deps = IntakeDeps(
        publisher=runtime.publisher, clock=clock, areas=load_areas(),
        pseudonym_key=settings.infra.pseudonym_key.get_secret_value(), roster=roster, reviews=Reviews(db),
        audit=audit, requests=MongoRequestClaims(db[REQUESTS]), jobs=jobs, background=background,
        import_limits=ImportLimits(errors_kept=settings.import_errors_kept,
                                   stop_after_refused=settings.import_stop_after_refused, lease=lease),
    )

    async def sweep_imports() -> None:
        """Renew this replica's running imports, then mark interrupted those whose replica stopped renewing."""
        await jobs.renew(clock())
        if interrupted := await jobs.mark_interrupted(clock(), lease):
            log.warning("%d import job(s) marked interrupted: their replica stopped renewing them", interrupted)

    async def prepare(_: FastAPI) -> None:
        await roster.ensure_indexes()
        await sweep_imports()
        runtime.every(settings.import_lease_seconds / 4, sweep_imports)

    async def stop_imports(_: FastAPI) -> None:
        await background.stop()

    return assemble_app(
        runtime=runtime, clock=clock,
        title="Dukcapil Rejang Lebong: Pendaftaran Penduduk (intake)",
        description="Daftar penduduk wajib KTP per kecamatan; setiap perintah menjadi event Kafka.",
        routers=[router], rate_limit=settings.rate_limit, max_body_bytes=settings.max_body_bytes,
        body_overrides={"/imports": settings.max_upload_bytes}, state={"deps": deps},
        before_start=[prepare], before_stop=[stop_imports], audit=audit,
    )
