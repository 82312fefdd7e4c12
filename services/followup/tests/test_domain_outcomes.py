"""The outcome aggregation: who is counted, which score counts at each mark, and the rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hearth.followup.domain.outcomes import (
    OutcomeRules,
    PatientCourse,
    Rate,
    Score,
    aggregate,
    course_status,
    score_near,
)

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
RULES = OutcomeRules()
DAY = timedelta(days=1)
NOW = T0 + 100 * DAY


def course(
    pid: str = "pt-001",
    phq9: int | None = 20,
    gad7: int | None = 14,
    first: datetime | None = T0,
    sessions: int = 6,
    last: datetime | None = T0 + 20 * DAY,
    scores: tuple[Score, ...] = (),
) -> PatientCourse:
    return PatientCourse(pid, phq9, gad7, first, sessions, last, scores)


def at(days: float, phq9: int | None = None, gad7: int | None = None) -> Score:
    return Score(T0 + days * DAY, phq9, gad7)


def test_no_patients_gives_counts_of_zero_and_no_rates() -> None:
    o = aggregate([], RULES, NOW)
    assert (o.patients, o.started, o.response.pct, o.remission.pct, o.dropout.pct) == (0, 0, None, None, None)
    assert o.phq9_reduction[10].mean_pct is None and o.phq9_reduction[10].patients == 0


def test_response_and_remission_use_each_patients_latest_phq9_since_the_first_session() -> None:
    courses = [
        course("pt-a", scores=(at(10, phq9=10),)),  # exactly half: response, not remission
        course("pt-b", scores=(at(5, phq9=3), at(30, phq9=12))),  # latest counts: neither
        course("pt-c", scores=(at(40, phq9=4),)),  # response and remission
        course("pt-d", phq9=0, scores=(at(10, phq9=0),)),  # baseline 0: remission only
        course("pt-e", scores=(at(-3, phq9=2),)),  # only before the first session: not assessed
        course("pt-f", first=None, sessions=0, last=None, scores=(at(10, phq9=2),)),  # never started
        course("pt-g", phq9=None, gad7=None, scores=(at(10, phq9=2),)),  # no baseline
    ]
    o = aggregate(courses, RULES, NOW)
    assert o.response == Rate(2, 3)
    assert o.remission == Rate(2, 4)
    assert (o.response.pct, o.remission.pct) == (66.7, 50.0)
    assert (o.patients, o.with_baseline, o.started) == (7, 6, 6)


def test_score_near_a_mark_picks_the_nearest_within_the_tolerance() -> None:
    mark = T0 + 28 * DAY
    tolerance = 7 * DAY
    assert score_near([at(20, phq9=1), at(26, phq9=2), at(31, phq9=3)], mark, tolerance, "phq9") == 2
    assert score_near([at(21, phq9=1), at(35, phq9=2)], mark, tolerance, "phq9") == 2  # tie: the later one
    assert score_near([at(21, phq9=1)], mark, tolerance, "phq9") == 1  # the edge is inside
    assert score_near([at(20.9, phq9=1), at(35.1, phq9=2)], mark, tolerance, "phq9") is None
    assert score_near([at(28, gad7=5), at(30, phq9=9)], mark, tolerance, "phq9") == 9  # only scores on the scale


def test_mean_reduction_at_week_4_and_week_10() -> None:
    courses = [
        course("pt-a", phq9=20, gad7=10, scores=(at(28, phq9=10, gad7=5), at(70, phq9=6, gad7=4))),
        course("pt-b", phq9=10, gad7=0, scores=(at(27, phq9=3, gad7=0), at(72, phq9=2, gad7=0))),
        course("pt-c", phq9=10, gad7=8, scores=(at(50, phq9=1, gad7=1),)),  # near neither mark
    ]
    o = aggregate(courses, RULES, NOW)
    assert (o.phq9_reduction[4].patients, o.phq9_reduction[4].mean_pct) == (2, 60.0)  # 50% and 70%
    assert (o.phq9_reduction[10].patients, o.phq9_reduction[10].mean_pct) == (2, 75.0)  # 70% and 80%
    assert (o.gad7_reduction[4].patients, o.gad7_reduction[4].mean_pct) == (1, 50.0)  # baseline 0 left out
    assert (o.gad7_reduction[10].patients, o.gad7_reduction[10].mean_pct) == (1, 60.0)


def test_a_worse_score_is_a_negative_reduction() -> None:
    o = aggregate([course(phq9=10, scores=(at(70, phq9=15),))], RULES, NOW)
    assert o.phq9_reduction[10].mean_pct == -50.0


def test_improved_within_four_weeks() -> None:
    courses = [
        course("pt-a", phq9=20, scores=(at(3, phq9=19),)),  # any drop counts
        course("pt-b", phq9=20, scores=(at(14, phq9=20), at(60, phq9=2))),  # the drop came too late
        course("pt-c", phq9=20, scores=(at(35, phq9=15),)),  # within the tolerance of week 4
        course("pt-d", phq9=20, scores=(at(36, phq9=15),)),  # no score by then: not assessed
        course("pt-e", phq9=0, scores=(at(3, phq9=0),)),  # baseline 0: not assessed
    ]
    o = aggregate(courses, RULES, NOW)
    assert o.improved_within_4_weeks == Rate(2, 3)


def test_scores_after_the_as_of_time_are_ignored() -> None:
    c = course(scores=(at(10, phq9=10),))
    assert aggregate([c], RULES, T0 + 5 * DAY).response == Rate(0, 0)
    assert aggregate([c], RULES, T0 + 10 * DAY).response == Rate(1, 1)


def test_course_status_at_its_boundaries() -> None:
    last = T0 + 10 * DAY
    assert course_status(course(sessions=0, last=None), RULES, NOW) == "not_started"
    assert course_status(course(sessions=6, last=last), RULES, last + 300 * DAY) == "completed"
    assert course_status(course(sessions=5, last=last), RULES, last + 30 * DAY) == "dropped_out"
    assert course_status(course(sessions=5, last=last), RULES, last + 30 * DAY - timedelta(seconds=1)) == "in_course"
    assert course_status(course(sessions=1, last=last), OutcomeRules(course_sessions=1), last + 99 * DAY) == "completed"


def test_dropout_rate_is_over_settled_patients() -> None:
    long_ago = NOW - 45 * DAY
    courses = [
        course("pt-a", sessions=6),
        course("pt-b", sessions=6),
        course("pt-c", sessions=2, last=long_ago),
        course("pt-d", sessions=3, last=NOW - 2 * DAY),  # still inside the course
        course("pt-e", sessions=0, first=None, last=None),
    ]
    o = aggregate(courses, RULES, NOW)
    assert o.dropout == Rate(1, 3) and o.dropout.pct == 33.3
    assert (o.completed_course, o.in_course, o.started) == (2, 1, 4)


def test_rules_are_configurable() -> None:
    c = course(sessions=4, last=NOW - 10 * DAY)
    assert aggregate([c], OutcomeRules(course_sessions=4), NOW).completed_course == 1
    assert aggregate([c], OutcomeRules(dropout_after=7 * DAY), NOW).dropout == Rate(1, 1)


scores = st.lists(
    st.builds(
        Score,
        st.integers(min_value=-10, max_value=120).map(lambda d: T0 + d * DAY),
        st.none() | st.integers(min_value=0, max_value=27),
        st.none() | st.integers(min_value=0, max_value=21),
    ),
    max_size=6,
).map(tuple)
courses_strategy = st.lists(
    st.builds(
        PatientCourse,
        st.uuids().map(str),
        st.none() | st.integers(min_value=0, max_value=27),
        st.none() | st.integers(min_value=0, max_value=21),
        st.just(T0),
        st.integers(min_value=1, max_value=10),
        st.integers(min_value=0, max_value=100).map(lambda d: T0 + d * DAY),
        scores,
    ),
    max_size=12,
)


@given(courses_strategy)
def test_rates_are_well_formed(courses: list[PatientCourse]) -> None:
    o = aggregate(courses, RULES, NOW)
    for rate in (o.response, o.remission, o.improved_within_4_weeks, o.dropout):
        assert 0 <= rate.count <= rate.of <= len(courses)
        assert rate.pct is None or 0.0 <= rate.pct <= 100.0
    assert o.response.of <= o.remission.of
    assert o.completed_course + o.in_course + o.dropout.count == o.started == len(courses)
    for mean in (*o.phq9_reduction.values(), *o.gad7_reduction.values()):
        assert (mean.mean_pct is None) == (mean.patients == 0)
        assert mean.mean_pct is None or mean.mean_pct <= 100.0
