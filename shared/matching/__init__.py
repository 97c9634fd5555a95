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
    is_travel,
    missing_skills,
    normalise_skills,
    solve,
)

__all__ = [
    "PRIORITY_WEIGHTS",
    "Allocation",
    "Candidate",
    "OfferIn",
    "Problem",
    "RequestIn",
    "Result",
    "eligibility",
    "eligible_pairs",
    "explain",
    "is_travel",
    "missing_skills",
    "normalise_skills",
    "solve",
]
