"""Every ORM table, re-exported so that Alembic sees the whole schema."""

from shared.models.activity import Activity
from shared.models.api_key import ApiKey
from shared.models.change import Change
from shared.models.change_feed import ChangeFeedState
from shared.models.idempotency import IdempotencyRecord
from shared.models.matching_run import MatchingRun
from shared.models.meeting import Meeting
from shared.models.outbox import Event, MatchingTrigger
from shared.models.secretariat import Secretariat
from shared.models.webhook import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Activity",
    "ApiKey",
    "Change",
    "ChangeFeedState",
    "Event",
    "IdempotencyRecord",
    "MatchingRun",
    "MatchingTrigger",
    "Meeting",
    "Secretariat",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
