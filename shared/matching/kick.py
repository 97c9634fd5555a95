"""Helpers for runs started by triggers (the run itself is `shared.matching.service.kick`)."""

from __future__ import annotations


def summary(reasons: list[str], limit: int = 200) -> str:
    """The reasons of a run's triggers, shortened to fit the run's `trigger` field."""
    text = "; ".join(dict.fromkeys(reasons))
    if len(text) <= limit:
        return text
    suffix = f" (+{len(reasons)} triggers)"
    return text[: limit - len(suffix) - 1] + "…" + suffix
