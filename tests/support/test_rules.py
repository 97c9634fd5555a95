"""The rules of matching.md are written once (shared/support/rules.py): a pair the matching
engine proposes is one the acceptance re-check lets through, with the same travel flag, and
the engine and the re-check agree on every pair, whatever the case of skill tags and places."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.matching import Problem, eligible_pairs
from shared.matching.snapshot import offer_in, request_in
from shared.models import CapacityOffer, WorkloadRequest
from shared.support import rules

MON = date(2026, 3, 2)  # a Monday
SKILLS = st.lists(st.sampled_from(["web", "Web ", "database"]), max_size=2)
PLACES = st.sampled_from([None, "CH GVA", "ch gva ", "DE BON"])
SECRETARIATS = st.sampled_from(["CITES", "CMS"])
KINDS = st.sampled_from(["ict", "translation"])
DAYS = st.integers(min_value=0, max_value=6)


@st.composite
def request_rows(draw: st.DrawFn) -> WorkloadRequest:
    start = MON + timedelta(draw(DAYS))
    on_site = draw(st.booleans())
    return WorkloadRequest(
        id=uuid.uuid4(),
        secretariat_code=draw(SECRETARIATS),
        kind=draw(KINDS),
        skills=draw(SKILLS),
        on_site=on_site,
        location=draw(PLACES.filter(lambda p: p is not None)) if on_site else draw(PLACES),
        start_date=start,
        end_date=start + timedelta(draw(DAYS)),
        hours=8,
        priority="normal",
    )


@st.composite
def offer_rows(draw: st.DrawFn) -> CapacityOffer:
    start = MON + timedelta(draw(DAYS))
    return CapacityOffer(
        id=uuid.uuid4(),
        secretariat_code=draw(SECRETARIATS),
        kind=draw(KINDS),
        skills=draw(SKILLS),
        location=draw(PLACES),
        travel_ok=draw(st.booleans()),
        start_date=start,
        end_date=start + timedelta(draw(DAYS)),
        hours_per_day=4,
        total_hours=40,
        unavailable_dates=[],
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(request_rows(), min_size=1, max_size=6), st.lists(offer_rows(), max_size=6))
def test_a_pair_the_engine_proposes_passes_the_acceptance_recheck(
    requests: list[WorkloadRequest], offers: list[CapacityOffer]
) -> None:
    problem = Problem(
        requests=[request_in(r, 0) for r in requests],
        offers=[offer_in(o, 0, {}) for o in offers],
    )
    found = {(r, o): travel for r, o, travel in eligible_pairs(problem)}
    for r in requests:
        for o in offers:
            terms_r, terms_o = rules.request_terms(r), rules.offer_terms(o)
            usable = rules.usable_days(terms_r, terms_o)
            agreed = rules.why_not(terms_r, terms_o) is None and bool(usable)
            assert ((r.id, o.id) in found) == agreed
            if agreed:
                assert found[(r.id, o.id)] == rules.is_travel(terms_r, terms_o)
                assert rules.outside_windows(terms_r, terms_o, usable) == []
