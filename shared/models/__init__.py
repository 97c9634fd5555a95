"""Every ORM table, re-exported so that Alembic sees the whole schema."""

from shared.models.activity import Activity
from shared.models.allocation import Allocation, AllocationDay, DeclinedPair
from shared.models.api_key import ApiKey
from shared.models.calendar import DutyStation, SecretariatClosure
from shared.models.capacity_offer import CapacityOffer
from shared.models.change import Change
from shared.models.change_feed import ChangeFeedState
from shared.models.history import HistoryEntry
from shared.models.idempotency import IdempotencyRecord
from shared.models.matching_run import MatchingRun
from shared.models.meeting import Meeting
from shared.models.outbox import Event, MatchingTrigger
from shared.models.secretariat import Secretariat
from shared.models.taxon import (
    TaxonConcept,
    TaxonDiscrepancy,
    TaxonListing,
    TaxonRegister,
    TaxonSynonymy,
)
from shared.models.webhook import WebhookAttempt, WebhookDelivery, WebhookSubscription
from shared.models.workload_request import WorkloadRequest

__all__ = [
    "Activity",
    "Allocation",
    "AllocationDay",
    "ApiKey",
    "CapacityOffer",
    "Change",
    "ChangeFeedState",
    "DeclinedPair",
    "DutyStation",
    "Event",
    "HistoryEntry",
    "IdempotencyRecord",
    "MatchingRun",
    "MatchingTrigger",
    "Meeting",
    "Secretariat",
    "SecretariatClosure",
    "TaxonConcept",
    "TaxonDiscrepancy",
    "TaxonListing",
    "TaxonRegister",
    "TaxonSynonymy",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkloadRequest",
]
