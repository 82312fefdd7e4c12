"""The program's outcome figures, computed from our own patients, next to the published ones.

Definitions (all relative to a patient's first session, "week 0"; a score counts only from then on):
- response rate: of the patients with a PHQ-9 baseline above 0 and a PHQ-9 since week 0, those whose latest
  PHQ-9 is at most half the baseline.
- remission rate: of the patients with a baseline and a PHQ-9 since week 0, those whose latest PHQ-9 is below 5.
- mean reduction at week 4 and week 10: for each patient the score nearest the mark within +/- the tolerance
  (default 7 days; on a tie the later one), reduction = (baseline - score) / baseline in percent, averaged
  over the patients who have such a score and a baseline above 0. Computed for PHQ-9 and GAD-7 apart.
- improved within 4 weeks: of the patients with a PHQ-9 baseline above 0 and a PHQ-9 taken by week 4 (plus the
  tolerance), those with any such PHQ-9 below the baseline.
- dropout: a patient who started but has fewer than the course's sessions (default 6) and no session for the
  dropout period (default 30 days) as of now. The rate is over settled patients (completed the course or
  dropped out); patients still inside their course are counted apart, not in the denominator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .mood import is_remission, is_response, reduction_pct

CourseStatus = Literal["not_started", "in_course", "completed", "dropped_out"]
WEEK_MARKS = (4, 10)


@dataclass(frozen=True)
class OutcomeRules:
    course_sessions: int = 6
    dropout_after: timedelta = timedelta(days=30)
    mark_tolerance: timedelta = timedelta(days=7)
    improved_within: timedelta = timedelta(weeks=4)


@dataclass(frozen=True)
class References:
    """Published figures of oral at-home ketamine programmes (see ../shared/BRIEF.md), in percent."""

    phq9_reduction_10w_pct: float = 69.0
    gad7_reduction_10w_pct: float = 60.0
    improved_4w_pct: float = 87.0
    dropout_pct: float = 26.7


@dataclass(frozen=True)
class Score:
    at: datetime
    phq9: int | None = None
    gad7: int | None = None


@dataclass(frozen=True)
class PatientCourse:
    patient_id: str
    baseline_phq9: int | None
    baseline_gad7: int | None
    first_session_at: datetime | None
    sessions: int
    last_session_at: datetime | None
    scores: tuple[Score, ...] = ()


@dataclass(frozen=True)
class Rate:
    count: int
    of: int

    @property
    def pct(self) -> float | None:
        return round(100 * self.count / self.of, 1) if self.of else None


@dataclass(frozen=True)
class MeanReduction:
    patients: int
    mean_pct: float | None


@dataclass(frozen=True)
class Outcomes:
    as_of: datetime
    patients: int
    with_baseline: int
    started: int
    response: Rate
    remission: Rate
    phq9_reduction: dict[int, MeanReduction]
    gad7_reduction: dict[int, MeanReduction]
    improved_within_4_weeks: Rate
    dropout: Rate
    completed_course: int
    in_course: int


Scale = Literal["phq9", "gad7"]


def value_on(score: Score, scale: Scale) -> int | None:
    return score.phq9 if scale == "phq9" else score.gad7


def baseline_on(course: PatientCourse, scale: Scale) -> int | None:
    return course.baseline_phq9 if scale == "phq9" else course.baseline_gad7


def since_first_session(course: PatientCourse, as_of: datetime) -> list[Score]:
    first = course.first_session_at
    if first is None:
        return []
    return sorted((s for s in course.scores if first <= s.at <= as_of), key=lambda s: s.at)


def score_near(scores: Sequence[Score], mark: datetime, tolerance: timedelta, scale: Scale) -> int | None:
    """The value on `scale` of the score nearest `mark` within +/- `tolerance`; on a tie the later one."""
    candidates = [s for s in scores if value_on(s, scale) is not None and abs(s.at - mark) <= tolerance]
    if not candidates:
        return None
    nearest = min(candidates, key=lambda s: (abs(s.at - mark), -s.at.timestamp()))
    return value_on(nearest, scale)


def course_status(course: PatientCourse, rules: OutcomeRules, as_of: datetime) -> CourseStatus:
    if course.sessions == 0 or course.last_session_at is None:
        return "not_started"
    if course.sessions >= rules.course_sessions:
        return "completed"
    if as_of - course.last_session_at >= rules.dropout_after:
        return "dropped_out"
    return "in_course"


def _mean_reduction(
    courses: Sequence[PatientCourse], weeks: int, scale: Scale, rules: OutcomeRules, as_of: datetime
) -> MeanReduction:
    reductions: list[float] = []
    for course in courses:
        baseline = baseline_on(course, scale)
        if baseline is None or course.first_session_at is None:
            continue
        mark = course.first_session_at + timedelta(weeks=weeks)
        value = score_near(since_first_session(course, as_of), mark, rules.mark_tolerance, scale)
        reduction = reduction_pct(baseline, value) if value is not None else None
        if reduction is not None:
            reductions.append(reduction)
    mean = round(sum(reductions) / len(reductions), 1) if reductions else None
    return MeanReduction(patients=len(reductions), mean_pct=mean)


def _latest_phq9(course: PatientCourse, as_of: datetime) -> int | None:
    values = [s.phq9 for s in since_first_session(course, as_of) if s.phq9 is not None]
    return values[-1] if values else None


def _improved(course: PatientCourse, rules: OutcomeRules, as_of: datetime) -> bool | None:
    baseline, first = course.baseline_phq9, course.first_session_at
    if baseline is None or baseline <= 0 or first is None:
        return None
    until = first + rules.improved_within + rules.mark_tolerance
    early = [s.phq9 for s in since_first_session(course, as_of) if s.phq9 is not None and s.at <= until]
    return any(v < baseline for v in early) if early else None


def aggregate(courses: Iterable[PatientCourse], rules: OutcomeRules, as_of: datetime) -> Outcomes:
    courses = list(courses)
    with_baseline = [c for c in courses if c.baseline_phq9 is not None]
    response = remission = improved = Rate(0, 0)
    for course in with_baseline:
        assert course.baseline_phq9 is not None
        latest = _latest_phq9(course, as_of)
        if latest is not None:
            remission = Rate(remission.count + is_remission(latest), remission.of + 1)
            responded = is_response(course.baseline_phq9, latest)
            if responded is not None:
                response = Rate(response.count + responded, response.of + 1)
        better = _improved(course, rules, as_of)
        if better is not None:
            improved = Rate(improved.count + better, improved.of + 1)
    statuses = [course_status(c, rules, as_of) for c in courses]
    dropped, completed = statuses.count("dropped_out"), statuses.count("completed")
    return Outcomes(
        as_of=as_of,
        patients=len(courses),
        with_baseline=len(with_baseline),
        started=len(courses) - statuses.count("not_started"),
        response=response,
        remission=remission,
        phq9_reduction={w: _mean_reduction(courses, w, "phq9", rules, as_of) for w in WEEK_MARKS},
        gad7_reduction={w: _mean_reduction(courses, w, "gad7", rules, as_of) for w in WEEK_MARKS},
        improved_within_4_weeks=improved,
        dropout=Rate(dropped, dropped + completed),
        completed_course=completed,
        in_course=statuses.count("in_course"),
    )
