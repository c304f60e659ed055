"""What recording's use cases need from storage; `shared.publishing.EventPublisher` is the publishing port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from services.recording.domain import (
    Place,
    Progress,
    ResidentRecord,
    RosterFacts,
    Stage,
    StuckResident,
    Taken,
    Visit,
    VisitState,
    WaitingWalkIn,
)


class RecordingStorage(Protocol):
    """Residents' progress, visits, carried-over targets, seen uploads and walk-ins."""

    async def resident(self, resident_id: str) -> ResidentRecord | None:
        """A resident as recording knows them, or None."""
        ...

    async def residents_by_id(self, resident_ids: list[str]) -> dict[str, ResidentRecord]:
        """The residents recording knows among these ids, by id (unknown ids are left out)."""
        ...

    async def set_roster_facts(self, resident_id: str, event_id: str, facts: RosterFacts) -> bool:
        """Keep a roster event's facts once; False if the event was applied before."""
        ...

    async def set_roster_facts_many(self, changes: dict[str, tuple[str, RosterFacts]]) -> set[str]:
        """`set_roster_facts` for many residents (id -> (event id, facts)); the residents written."""
        ...

    async def advance(self, resident_id: str, event_id: str, place: Place, new: Progress | None) -> bool:
        """Record the event id, and the new progress if any (else one more stale report), in one write."""
        ...

    async def advance_many(self, changes: dict[str, tuple[str, Place, Progress | None]]) -> set[str]:
        """`advance` for many residents at once (id -> (event id, place, new progress)); the residents
        whose event was recorded."""
        ...

    async def unrecorded_at(self, *, kind: str, place_code: str, kecamatan_code: str, limit: int,
                            wajib_by: dt.date) -> list[str]:
        """Roster residents of a place who are not recorded yet and are wajib KTP by `wajib_by` (or have no
        wajib KTP date), oldest wajib KTP date first."""
        ...

    async def visit(self, visit_id: str) -> Visit | None:
        """A visit, or None."""
        ...

    async def visits_in(self, kecamatan_code: str, *, states: Sequence[VisitState], limit: int) -> list[Visit]:
        """A kecamatan's visits in the given states, by date then id."""
        ...

    async def add_visit(self, visit: Visit, event_id: str) -> bool:
        """Keep a scheduled visit once; False if the event was applied before."""
        ...

    async def mark_visit(
        self, visit_id: str, event_id: str, state: VisitState, no_shows: list[str] | None = None,
        at: dt.datetime | None = None,
    ) -> bool:
        """Move a visit to `state` once, keeping when it was opened or closed (`at`); False if the event was
        applied before."""
        ...

    async def forget_no_show(self, visit_id: str, place_code: str, resident_id: str) -> None:
        """A no-show of a closed visit turned out recorded during it: no longer its no-show, nor waiting at
        the place."""
        ...

    async def carried_over(self, place_code: str) -> list[str]:
        """Residents a closed visit left for the next visit at the place."""
        ...

    async def set_carried_over(self, place_code: str, residents: list[str]) -> None:
        """Replace the residents carried over to the next visit at the place."""
        ...

    async def seen_among(self, event_ids: Sequence[str]) -> set[str]:
        """Those of the uploaded field events' ids that were taken before (one read for a whole upload)."""
        ...

    async def mark_seen(self, taken: Sequence[Taken], now: dt.datetime) -> None:
        """Remember uploaded field events, so a second upload is answered as a duplicate (one write)."""
        ...

    async def captured_at_visit(self, visit_id: str) -> frozenset[str]:
        """The residents whose capture at this visit was taken (applied or not yet)."""
        ...

    async def visits_by_id(self, visit_ids: Sequence[str]) -> dict[str, Visit]:
        """The known visits among these ids (those without their scheduling are left out, as in `visit`)."""
        ...

    async def keep_walk_in(self, walk_in: WaitingWalkIn) -> bool:
        """Keep a field event of someone not in the roster, for enrollment; False if kept before."""
        ...

    async def waiting_walk_ins(self, *, kecamatan_code: str | None, limit: int) -> list[WaitingWalkIn]:
        """Walk-ins waiting for enrollment (of one kecamatan, or all), oldest first."""
        ...

    async def walk_ins_waiting_for(self, resident_ids: list[str]) -> set[str]:
        """Which of these residents have a walk-in waiting."""
        ...

    async def walk_ins_of(self, resident_id: str) -> list[WaitingWalkIn]:
        """Walk-ins waiting for this resident (by pseudonym), oldest first."""
        ...

    async def close_walk_in(self, event_id: str, status: str, now: dt.datetime) -> None:
        """A walk-in no longer waits: applied to the enrolled resident, or refused."""
        ...

    async def record_read(self, *, office_id: str, operator: str | None = None,
                          action: str, scope: str | None, resident_ids: list[str],
                          now: dt.datetime) -> None:
        """One read of residents' personal data, for the audit trail."""
        ...

    async def stuck(self, *, stage: Stage | None, before: dt.datetime, kecamatan_code: str | None
                    ) -> list[StuckResident]:
        """Residents in a stage that should move on since before `before`."""
        ...
