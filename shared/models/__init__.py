"""Every ORM table, re-exported so that Alembic sees the whole schema."""

from shared.models.matching_run import MatchingRun
from shared.models.secretariat import Secretariat

__all__ = ["MatchingRun", "Secretariat"]
