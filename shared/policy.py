"""Who may do what: the one place every route asks.

Reading is open to every key with the `read` scope (the secretariats share their data).
Writing needs `write` and a key of the secretariat that owns the object; deciding on an
allocation needs `approve`. An admin key (no secretariat, `admin` scope) may do anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from shared.errors import Forbidden, Unprocessable

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


def reference_owner(principal: Principal, named: str | None) -> str:
    """The secretariat within which a by-reference write resolves its external reference:
    the key's own, or for an admin key the one it names (`?secretariat=`, required)."""
    if principal.is_admin and principal.secretariat is None:
        if named is None:
            raise Unprocessable(
                "An admin key belongs to no secretariat: name the one whose external "
                "reference this is with ?secretariat=CODE.",
                errors=[
                    {
                        "field": "query.secretariat",
                        "message": "required for an admin key",
                        "type": "missing",
                    }
                ],
            )
        return named
    if principal.secretariat is None:
        raise Forbidden(
            "This key belongs to no secretariat, so it owns no external references; "
            "use a key of the secretariat that writes them."
        )
    if named is not None and named != principal.secretariat:
        raise Forbidden(
            f"This key belongs to {principal.secretariat}: it resolves references within "
            f"{principal.secretariat} only, not {named}."
        )
    return principal.secretariat
