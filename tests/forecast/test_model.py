"""The forecast model on its own: scaled by length, carried along a trend, named sources."""

from __future__ import annotations

from datetime import date, timedelta

from bench.forecast import backtest, generate
from shared.forecast.model import Meeting, PastRequest, daily, forecast


def _meeting(n: int, start: date, days: int, hours: float, skill: str = "av") -> Meeting:
    opening = start
    return Meeting(
        f"SC{n}",
        "Standing Committee",
        "CITES",
        opening,
        opening + timedelta(days=days - 1),
        (
            PastRequest(
                "ict",
                (skill,),
                hours / 2,
                opening - timedelta(days=14),
                opening - timedelta(days=10),
            ),
            PastRequest("ict", (skill,), hours / 2, opening, opening + timedelta(days=days - 1)),
        ),
    )


def test_a_longer_meeting_is_expected_to_need_more_and_names_its_sources() -> None:
    past = [_meeting(i, date(2020 + i, 3, 2), 5, 100.0) for i in range(4)]
    target = Meeting("SC9", "Standing Committee", "CITES", date(2025, 3, 3), date(2025, 3, 12))
    fc = forecast(target, past)
    assert fc is not None
    assert fc.same_body
    assert fc.based_on == ["SC0", "SC1", "SC2", "SC3"]
    assert abs(fc.total.expected - 200.0) < 1e-6  # same hours per day, twice the days
    assert fc.total.low < fc.total.expected < fc.total.high
    weeks = {c.week for c in fc.cells}
    assert weeks == {-2, 0, 1}
    # The week before the meeting and the meeting's own two weeks hold half the hours each.
    assert abs(sum(c.hours.expected for c in fc.cells if c.week < 0) - 100.0) < 1e-6
    spread = daily(fc)
    assert max(day for _k, _s, day in spread) == target.end
    assert abs(sum(a.expected for a in spread.values()) - 200.0) < 1e-6


def test_a_growing_body_is_expected_to_keep_growing() -> None:
    past = [_meeting(i, date(2016 + i, 3, 2), 5, 100.0 * 1.1**i) for i in range(8)]
    target = Meeting("SC9", "Standing Committee", "CITES", date(2024, 3, 4), date(2024, 3, 8))
    fc = forecast(target, past)
    assert fc is not None
    assert fc.trend_per_year > 0.05
    assert fc.total.expected > past[-1].hours


def test_a_skill_no_longer_asked_for_fades_out() -> None:
    past = [_meeting(i, date(2016 + i, 3, 2), 5, 100.0, "fax") for i in range(3)]
    past += [_meeting(i, date(2016 + i, 3, 2), 5, 100.0, "webcast") for i in range(3, 8)]
    target = Meeting("SC9", "Standing Committee", "CITES", date(2024, 3, 4), date(2024, 3, 8))
    fc = forecast(target, past)
    assert fc is not None
    assert ("ict", "fax") not in fc.by_kind_skill
    assert fc.by_kind_skill[("ict", "webcast")].expected > 0


def test_a_body_without_history_learns_from_the_secretariats_other_meetings() -> None:
    past = [_meeting(i, date(2020 + i, 3, 2), 5, 100.0) for i in range(3)]
    target = Meeting("PC1", "Plants Committee", "CITES", date(2025, 3, 3), date(2025, 3, 7))
    fc = forecast(target, past)
    assert fc is not None
    assert not fc.same_body
    assert fc.based_on == ["SC0", "SC1", "SC2"]
    assert forecast(Meeting("X1", "X", "CMS", date(2025, 1, 6), date(2025, 1, 7)), past) is None


def test_backtest_beats_both_baselines_on_a_generated_history() -> None:
    errors = backtest(generate(2, 20, date(2006, 1, 1)), date(2017, 12, 29))
    wape = {
        m: sum(errors[f"{m}.total"]) / sum(errors["actual.total"])
        for m in ("forecast", "last", "mean")
    }
    assert wape["forecast"] < 0.8 * wape["last"]
    assert wape["forecast"] < 0.8 * wape["mean"]
