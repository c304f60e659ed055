"""Use cases of the inventory service: the consumers' (ledger), the clerks' writes (commands) and reads (views)."""

from services.inventory.handlers.commands import (
    ApproveCount,
    CorrectCount,
    ReceiveBlanks,
    ReceiveTransfer,
    Recorded,
    RecordSpoilage,
    RequestUsulan,
    ReturnSpoiled,
    SendTransfer,
    UsulanSent,
    approve_count,
    correct_count,
    pending_counts,
    receive_blanks,
    receive_transfer,
    record_spoilage,
    request_usulan,
    return_spoiled,
    send_transfer,
    submit,
)
from services.inventory.handlers.deps import InventoryDeps
from services.inventory.handlers.ledger import apply_print_event, apply_stock_event
from services.inventory.handlers.views import (
    LocationView,
    ShowLocation,
    Suggestion,
    check_ledger,
    list_locations,
    list_usulan,
    location_views,
    low_stock,
    show_location,
    suggest_usulan,
)

__all__ = [
    "ApproveCount", "approve_count", "pending_counts",
    "CorrectCount", "InventoryDeps", "LocationView", "ReceiveBlanks", "ReceiveTransfer", "RecordSpoilage", "Recorded",
    "RequestUsulan", "ReturnSpoiled", "SendTransfer", "ShowLocation", "Suggestion", "UsulanSent", "apply_print_event",
    "apply_stock_event", "check_ledger", "correct_count", "list_locations", "list_usulan", "location_views",
    "low_stock", "receive_blanks", "receive_transfer", "record_spoilage", "request_usulan", "return_spoiled",
    "send_transfer", "show_location", "submit", "suggest_usulan",
]
