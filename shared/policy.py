"""Who may do what: the one place every route asks.

Reading is open to every key with the `read` scope (the secretariats share their data).
Writing needs `write` and a key of the secretariat that owns the object; deciding on an
allocation needs `approve`. An admin key (no secretariat, `admin` scope) may do anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from shared.errors import Forbidden

SCOPES = ("read", "write", "approve", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its API key says."""

    key_id: uuid.UUID
    name: str
    secretariat: str | None
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    def has_scope(self, scope: str) -> bool:
        return self.is_admin or scope in self.scopes


def require_scope(principal: Principal, scope: str) -> None:
    """Forbidden unless the key has `scope` (admin has every scope)."""
    if not principal.has_scope(scope):
        raise Forbidden(f"This API key lacks the '{scope}' scope.", required_scope=scope)


def require_secretariat(principal: Principal, owners: Iterable[str], what: str) -> None:
    """Forbidden unless the key belongs to one of `owners` (or is an admin key)."""
    if principal.is_admin:
        return
    owner_list = sorted(set(owners))
    if principal.secretariat not in owner_list:
        raise Forbidden(
            f"Only a key of {' or '.join(owner_list)} may {what}; "
            f"this key belongs to {principal.secretariat or 'no secretariat'}."
        )


def require_own_secretariat(principal: Principal, secretariat: str, what: str) -> None:
    """The object must belong to the caller's own secretariat."""
    require_secretariat(principal, [secretariat], what)
