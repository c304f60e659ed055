"""Import jobs with several intake replicas: a job belongs to the replica running it while its heartbeat
is renewed; one whose replica stopped renewing it is interrupted and resumes on re-upload anywhere."""

from __future__ import annotations

import dataclasses
import datetime as dt

from services.intake import handlers
from services.intake.ports import DONE, INTERRUPTED, ORPHANED_MESSAGE, RUNNING, ImportLimits, IntakeDeps
from tests.fakes.intake import NOW, FakeImportJobs, InlineBackground, fixed_clock, intake_deps
from tests.unit.use_cases.test_intake import KEC, OWN, dapodik, published, resident

LEASE = dt.timedelta(seconds=60)
BIRTH = dt.date(2009, 5, 12)


def replica(deps: IntakeDeps, owner: str, *, at: dt.datetime = NOW) -> IntakeDeps:
    """Another replica on the same roster, publisher and job documents, with its own clock and background."""
    jobs = deps.jobs
    assert isinstance(jobs, FakeImportJobs)
    return dataclasses.replace(deps, jobs=FakeImportJobs(jobs.jobs, owner=owner), background=InlineBackground(),
                               clock=fixed_clock(at), import_limits=ImportLimits(lease=LEASE))


def school_file(students: int) -> bytes:
    return dapodik(*[(resident(100 + i, birth=BIRTH).nik, f"Siswa {i}", BIRTH, KEC) for i in range(students)])


async def test_a_job_another_replica_runs_is_shown_running_and_a_reupload_does_not_start_it_again() -> None:
    deps = intake_deps()
    first, second = replica(deps, "replika-a"), replica(deps, "replika-b", at=NOW + LEASE / 2)
    content = school_file(3)
    started = await handlers.start_import(handlers.StartImport(OWN, content), deps=first)
    again = await handlers.start_import(handlers.StartImport(OWN, content), deps=second)
    assert again.replay and again.job.status == RUNNING
    seen = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=second)).job
    assert seen.status == RUNNING and seen.message is None
    assert isinstance(second.background, InlineBackground) and not second.background.pending
    assert isinstance(first.background, InlineBackground)
    await first.background.run_all()
    done = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=second)).job
    assert (done.status, done.imported) == (DONE, 3) and len(published(deps)) == 3


async def test_a_job_whose_replica_stopped_renewing_it_is_interrupted_and_resumes_on_reupload_elsewhere() -> None:
    deps = intake_deps()
    crashed = replica(deps, "replika-a")
    content = school_file(3)
    started = await handlers.start_import(handlers.StartImport(OWN, content), deps=crashed)
    # replika-a crashed: its background work never runs and nobody renews the job.
    later = replica(deps, "replika-b", at=NOW + LEASE + dt.timedelta(seconds=1))
    seen = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=later)).job
    assert (seen.status, seen.message) == (INTERRUPTED, ORPHANED_MESSAGE)
    resumed = await handlers.start_import(handlers.StartImport(OWN, content), deps=later)
    assert not resumed.replay and resumed.job.status == RUNNING
    assert isinstance(later.background, InlineBackground)
    await later.background.run_all()
    done = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=later)).job
    assert (done.status, done.imported) == (DONE, 3)


async def test_a_replica_whose_job_was_taken_over_stops_and_leaves_the_job_to_the_new_one() -> None:
    deps = intake_deps()
    slow = replica(deps, "replika-a")
    content = school_file(2)
    started = await handlers.start_import(handlers.StartImport(OWN, content), deps=slow)
    taking_over = replica(deps, "replika-b", at=NOW + 2 * LEASE)
    await handlers.start_import(handlers.StartImport(OWN, content), deps=taking_over)
    assert isinstance(slow.background, InlineBackground) and isinstance(taking_over.background, InlineBackground)
    await slow.background.run_all()  # the old replica wakes up: its progress is refused, it stops
    job = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=taking_over)).job
    assert (job.status, job.owner, job.processed) == (RUNNING, "replika-b", 0)
    await taking_over.background.run_all()
    job = (await handlers.read_import(handlers.ReadImport(OWN, started.job.job_id), deps=taking_over)).job
    assert (job.status, job.processed, job.imported + job.already_registered) == (DONE, 2, 2)
    assert len(published(deps)) == 2, "every resident registered once"
