"""Mood scores against the screening baseline.

Percent change = (score - baseline) / baseline x 100: negative means fewer symptoms. Response = PHQ-9 down by
at least 50% from baseline (decided on integers, so exactly 50% is a response); remission = PHQ-9 below 5.
A baseline of 0 has no percent change and no response (there is nothing to halve); remission still applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

PHQ9_ITEMS = 9
GAD7_ITEMS = 7
ANSWER_MAX = 3
SELF_HARM_ITEM = 9  # PHQ-9 item 9: thoughts of self-harm
REMISSION_BELOW = 5


@dataclass(frozen=True)
class Baseline:
    """The screening totals (Screened carries totals, not items)."""

    assessment_id: str
    phq9: int
    gad7: int
    screened_at: datetime


@dataclass(frozen=True)
class Measurement:
    measurement_id: str
    patient_id: str
    measured_at: datetime
    phq9_answers: tuple[int, ...] | None = None
    gad7_answers: tuple[int, ...] | None = None

    @property
    def phq9(self) -> int | None:
        return sum(self.phq9_answers) if self.phq9_answers is not None else None

    @property
    def gad7(self) -> int | None:
        return sum(self.gad7_answers) if self.gad7_answers is not None else None

    @property
    def self_harm_answer(self) -> int | None:
        return self.phq9_answers[SELF_HARM_ITEM - 1] if self.phq9_answers is not None else None


def measure(
    measurement_id: str,
    patient_id: str,
    measured_at: datetime,
    phq9: tuple[int, ...] | None,
    gad7: tuple[int, ...] | None,
) -> Measurement:
    """A submission of PHQ-9 and/or GAD-7 answers (each 0-3); the API has already checked their shape."""
    if phq9 is None and gad7 is None:
        raise ValueError("a measurement needs PHQ-9 or GAD-7 answers")
    for name, answers, count in (("phq9", phq9, PHQ9_ITEMS), ("gad7", gad7, GAD7_ITEMS)):
        if answers is not None and (len(answers) != count or not all(0 <= a <= ANSWER_MAX for a in answers)):
            raise ValueError(f"{name} needs {count} answers of 0-{ANSWER_MAX}")
    return Measurement(measurement_id, patient_id, measured_at, phq9, gad7)


def percent_change(baseline: int, score: int) -> float | None:
    """Signed change from baseline in percent, one decimal; None for a baseline of 0."""
    if baseline <= 0:
        return None
    return round((score - baseline) * 100 / baseline, 1)


def reduction_pct(baseline: int, score: int) -> float | None:
    """Reduction from baseline in percent (positive = fewer symptoms), unrounded; None for a baseline of 0."""
    if baseline <= 0:
        return None
    return (baseline - score) * 100 / baseline


def is_response(baseline: int, phq9: int) -> bool | None:
    """PHQ-9 at most half its baseline; None when the baseline is 0."""
    if baseline <= 0:
        return None
    return 2 * phq9 <= baseline


def is_remission(phq9: int) -> bool:
    return phq9 < REMISSION_BELOW


def needs_urgent_review(measurement: Measurement) -> bool:
    """A PHQ-9 item 9 (self-harm) answer above 0 always goes to a clinician, urgently."""
    answer = measurement.self_harm_answer
    return answer is not None and answer > 0


def newer_baseline(current: Baseline | None, candidate: Baseline) -> Baseline:
    """The most recent screening is the baseline, whatever order the events arrive in."""
    if current is None or candidate.screened_at > current.screened_at:
        return candidate
    return current
