"""Use cases of the recording service: visits, field uploads, SIAK statuses, reading progress, applying events."""

from services.recording.handlers.common import (
    DERIVED,
    Conflict,
    FieldRefused,
    Forbidden,
    NotDelivered,
    NotFound,
    RecordingDeps,
    RecordingError,
    TooLarge,
    Unreadable,
    derived_id,
)
from services.recording.handlers.events import (
    apply_outreach_event,
    apply_recording_event,
    apply_recording_events,
    apply_resident_event,
    apply_resident_events,
    stage_of,
)
from services.recording.handlers.residents import FindStuck, ResidentStatus, resident_status, stuck_residents
from services.recording.handlers.siak import (
    ImportSiakFile,
    ReportStatuses,
    RowResult,
    StatusResult,
    import_siak_file,
    report_siak_statuses,
)
from services.recording.handlers.uploads import BatchResult, ItemResult, UploadBatch, upload_batch
from services.recording.handlers.visits import (
    VISITS_LISTED,
    ListVisits,
    ScheduleVisit,
    VisitCommand,
    close_visit,
    get_visit,
    list_visits,
    open_visit,
    schedule_visit,
)
from services.recording.handlers.walk_ins import (
    ListWalkIns,
    apply_waiting_walk_ins,
    apply_waiting_walk_ins_of,
    list_walk_ins,
)

__all__ = [
    "VISITS_LISTED", "ListVisits", "list_visits",
    "DERIVED", "BatchResult", "ListWalkIns", "apply_waiting_walk_ins", "list_walk_ins",
    "Conflict", "FieldRefused", "FindStuck", "Forbidden", "ImportSiakFile", "ItemResult",
    "NotDelivered",
    "NotFound", "RecordingDeps", "RecordingError", "ReportStatuses", "ResidentStatus", "RowResult", "ScheduleVisit",
    "StatusResult", "TooLarge", "Unreadable", "UploadBatch", "VisitCommand", "apply_outreach_event",
    "apply_recording_event", "apply_recording_events", "apply_resident_event", "apply_resident_events",
    "apply_waiting_walk_ins_of",
    "close_visit", "derived_id", "get_visit", "import_siak_file",
    "open_visit", "report_siak_statuses", "resident_status", "schedule_visit", "stage_of", "stuck_residents",
    "upload_batch",
]
