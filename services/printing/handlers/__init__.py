"""Use cases of the printing service: office commands and reads (`office`), the queue the topics drive
(`queue`), and what both share (`common`)."""

from services.printing.handlers.common import SYSTEM, PrintingDeps, derived_id, queued_event
from services.printing.handlers.office import (
    AcknowledgeDelivery,
    CardView,
    DeliveryAccepted,
    DeliveryAcknowledged,
    HandOver,
    JobAccepted,
    ListDeliveries,
    RequestReprint,
    ResidentCards,
    SendToSchool,
    ShowCards,
    ShowJob,
    ShowQueue,
    StationView,
    acknowledge_delivery,
    hand_over,
    list_stations,
    request_reprint,
    schools_of_jobs,
    send_to_school,
    show_cards,
    show_job,
    show_queue,
    visible_job,
    waiting_deliveries,
)
from services.printing.handlers.queue import (
    apply_print_event,
    apply_priority_order,
    apply_resident_event,
    apply_resident_events,
    apply_stock_event,
    dispatch,
    queue_print_request,
    sweep,
)

__all__ = [
    "AcknowledgeDelivery", "CardView", "DeliveryAccepted", "DeliveryAcknowledged", "HandOver", "JobAccepted",
    "PrintingDeps", "RequestReprint", "ResidentCards", "SYSTEM", "SendToSchool", "ShowCards", "ShowJob", "ShowQueue",
    "StationView", "acknowledge_delivery", "apply_print_event", "apply_priority_order", "apply_resident_event",
    "apply_resident_events", "apply_stock_event", "derived_id", "dispatch", "hand_over", "list_stations", "queue_print_request",
    "queued_event", "request_reprint", "send_to_school", "show_cards", "show_job", "show_queue", "sweep",
    "visible_job", "ListDeliveries", "schools_of_jobs", "waiting_deliveries",
]
