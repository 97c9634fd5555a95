"""Every ORM table, re-exported so that Alembic sees the whole schema."""

from shared.models.activity import Activity
from shared.models.api_key import ApiKey
from shared.models.change import Change
from shared.models.idempotency import IdempotencyRecord
from shared.models.matching_run import MatchingRun
from shared.models.meeting import Meeting
from shared.models.outbox import Event, MatchingTrigger
from shared.models.secretariat import Secretariat

__all__ = [
    "Activity",
    "ApiKey",
    "Change",
    "Event",
    "IdempotencyRecord",
    "MatchingRun",
    "MatchingTrigger",
    "Meeting",
    "Secretariat",
]
