"""Matching of workload requests to capacity offers."""

from shared.matching.engine import (
    PRIORITY_WEIGHTS,
    Allocation,
    Candidate,
    OfferIn,
    Problem,
    RequestIn,
    Result,
    eligibility,
    eligible_pairs,
    explain,
    solve,
)
from shared.support.rules import (
    DAYS_OFF,
    blocked_days,
    is_travel,
    missing_skills,
    normalise_skills,
    usable_days,
)

__all__ = [
    "DAYS_OFF",
    "PRIORITY_WEIGHTS",
    "Allocation",
    "Candidate",
    "OfferIn",
    "Problem",
    "RequestIn",
    "Result",
    "blocked_days",
    "eligibility",
    "eligible_pairs",
    "explain",
    "is_travel",
    "missing_skills",
    "normalise_skills",
    "solve",
    "usable_days",
]
