"""Screening as pure rules: score the questionnaires, check every rule of the table, decide the outcome.

No I/O, no clock: `screen(intake, criteria)` is a function of its arguments. The clinical numbers live in
`Criteria` (built from configuration); the rules themselves are the `RULES` table below, which the README
renders for clinical review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Literal

from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.events.screening import BloodPressure as BloodPressureReading
from hearth.contracts.events.screening import Gad7Band, Phq9Band, Screened, gad7_band, phq9_band

PHQ9_ITEMS, GAD7_ITEMS, ITEM_MAX = 9, 7, 3
Outcome = Literal["eligible", "ineligible", "needs_review"]


@dataclass(frozen=True)
class Trial:
    drug: str
    adequate_dose: bool
    weeks: int


@dataclass(frozen=True)
class BloodPressure:
    systolic: int
    diastolic: int


@dataclass(frozen=True)
class History:
    """Medical history answers: True, False, or None when the patient does not know."""

    heart_disease: bool | None = False  # unstable or severe heart disease
    psychosis_or_schizophrenia: bool | None = False
    mania: bool | None = False
    severe_liver_disease: bool | None = False
    severe_kidney_disease: bool | None = False
    uncontrolled_seizures: bool | None = False
    glaucoma: bool | None = False
    raised_intracranial_pressure: bool | None = False
    untreated_hyperthyroidism: bool | None = False
    bladder_disease: bool | None = False  # including interstitial cystitis


@dataclass(frozen=True)
class Payer:
    kind: Literal["self_pay", "insurance"]
    plan_code: str | None = None


@dataclass(frozen=True)
class Intake:
    """What a patient answered. No name, address or birth date: the patient is a pseudonymous id."""

    patient_id: str
    age: int
    state: str
    phq9: tuple[int, ...]
    gad7: tuple[int, ...]
    trials: tuple[Trial, ...] = ()
    history: History = History()
    medications: tuple[str, ...] = ()  # stored for the prescriber; no rule reads them
    blood_pressure: BloodPressure | None = None
    pregnant_or_breastfeeding: bool | None = False
    substance_use_disorder: bool | None = False  # active
    support_person_present: bool = True  # stored; the session service checks it at every start
    payer: Payer = Payer("self_pay")

    def __post_init__(self) -> None:
        for name, answers, count in (("phq9", self.phq9, PHQ9_ITEMS), ("gad7", self.gad7, GAD7_ITEMS)):
            if len(answers) != count or any(not 0 <= a <= ITEM_MAX for a in answers):
                raise ValueError(f"{name} needs {count} answers of 0-{ITEM_MAX}")

    def unknown_answers(self) -> tuple[str, ...]:
        """The exclusion questions answered "don't know"."""
        history = [f"medical_history.{f.name}" for f in fields(History) if getattr(self.history, f.name) is None]
        own = [n for n in ("pregnant_or_breastfeeding", "substance_use_disorder") if getattr(self, n) is None]
        return tuple(history + own)


@dataclass(frozen=True)
class Criteria:
    """The clinical numbers of the rules, from the rules file and the settings (see settings.py)."""

    served_states: frozenset[str] = frozenset()
    min_age: int = 18
    bp_max_systolic: int = 140
    bp_max_diastolic: int = 90
    bp_borderline_margin: int = 0  # off: the published rule only; a positive band is opt-in
    trd_min_trials: int = 2
    trd_min_weeks: int = 6


def adequate_trials(intake: Intake, c: Criteria) -> int:
    """Distinct antidepressants taken at a therapeutic dose for at least `trd_min_weeks` weeks."""
    adequate = {t.drug.strip().casefold() for t in intake.trials if t.adequate_dose and t.weeks >= c.trd_min_weeks}
    return len(adequate)


def bp_above_limit(intake: Intake, c: Criteria) -> bool:
    bp = intake.blood_pressure
    return bp is not None and (bp.systolic > c.bp_max_systolic or bp.diastolic > c.bp_max_diastolic)


def bp_borderline(intake: Intake, c: Criteria) -> bool:
    bp, margin = intake.blood_pressure, c.bp_borderline_margin
    if bp is None or margin == 0 or bp_above_limit(intake, c):
        return False
    return bp.systolic > c.bp_max_systolic - margin or bp.diastolic > c.bp_max_diastolic - margin


class Effect(StrEnum):
    EXCLUDES = "excludes"  # outcome ineligible
    REVIEW = "review"  # outcome needs_review, unless an exclusion applies
    URGENT_REVIEW = "urgent review"  # outcome needs_review whatever else applies: never auto-reject/approve


@dataclass(frozen=True)
class Rule:
    code: ReasonCode
    effect: Effect
    description: str  # formatted with the Criteria fields
    applies: Callable[[Intake, Criteria], bool]


R, E = ReasonCode, Effect
# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(R.UNDER_18, E.EXCLUDES, "Younger than {min_age}", lambda i, c: i.age < c.min_age),
    Rule(R.STATE_NOT_SERVED, E.EXCLUDES, "Lives in a state not served (HEARTH_SERVED_STATES)",
         lambda i, c: i.state not in c.served_states),
    Rule(R.UNCONTROLLED_HYPERTENSION, E.EXCLUDES,
         "Blood pressure above {bp_max_systolic}/{bp_max_diastolic} mmHg (systolic or diastolic)",
         bp_above_limit),
    Rule(R.HEART_DISEASE, E.EXCLUDES, "Unstable or severe heart disease",
         lambda i, c: i.history.heart_disease is True),
    Rule(R.PSYCHOSIS_HISTORY, E.EXCLUDES, "History of psychosis or schizophrenia",
         lambda i, c: i.history.psychosis_or_schizophrenia is True),
    Rule(R.MANIA_HISTORY, E.EXCLUDES, "History of mania", lambda i, c: i.history.mania is True),
    Rule(R.SUBSTANCE_USE_DISORDER, E.EXCLUDES, "Active substance use disorder",
         lambda i, c: i.substance_use_disorder is True),
    Rule(R.PREGNANCY_OR_BREASTFEEDING, E.EXCLUDES, "Pregnant or breastfeeding",
         lambda i, c: i.pregnant_or_breastfeeding is True),
    Rule(R.SEVERE_LIVER_OR_KIDNEY_DISEASE, E.EXCLUDES, "Severe liver or kidney disease",
         lambda i, c: i.history.severe_liver_disease is True or i.history.severe_kidney_disease is True),
    Rule(R.UNCONTROLLED_SEIZURES, E.EXCLUDES, "Uncontrolled seizures",
         lambda i, c: i.history.uncontrolled_seizures is True),
    Rule(R.GLAUCOMA_OR_INTRACRANIAL_PRESSURE, E.EXCLUDES, "Glaucoma or raised intracranial pressure",
         lambda i, c: i.history.glaucoma is True or i.history.raised_intracranial_pressure is True),
    Rule(R.UNTREATED_HYPERTHYROIDISM, E.EXCLUDES, "Untreated hyperthyroidism",
         lambda i, c: i.history.untreated_hyperthyroidism is True),
    Rule(R.BLADDER_DISEASE, E.EXCLUDES, "Bladder or urological disease (including interstitial cystitis)",
         lambda i, c: i.history.bladder_disease is True),
    Rule(R.NOT_TREATMENT_RESISTANT, E.EXCLUDES,
         "Fewer than {trd_min_trials} adequate antidepressant trials (distinct drugs, each at a"
         " therapeutic dose for {trd_min_weeks} weeks or more)", lambda i, c: adequate_trials(i, c) < c.trd_min_trials),
    Rule(R.SAFETY_FLAG_ITEM9, E.URGENT_REVIEW, "PHQ-9 item 9 (thoughts of self-harm) answered above 0",
         lambda i, c: i.phq9[8] > 0),
    Rule(R.BORDERLINE_VITALS, E.REVIEW,
         "Blood pressure in the opt-in borderline band just below a limit: {bp_borderline_margin} mmHg wide"
         " (0, the default: off)", bp_borderline),
    Rule(R.MISSING_VITALS, E.REVIEW, "No blood pressure reading", lambda i, c: i.blood_pressure is None),
    Rule(R.MISSING_DATA, E.REVIEW, "An exclusion question answered \"don't know\"",
         lambda i, c: bool(i.unknown_answers())),
)
# fmt: on


@dataclass(frozen=True)
class Screening:
    phq9_total: int
    phq9_band: Phq9Band
    gad7_total: int
    gad7_band: Gad7Band
    safety_flag: bool
    outcome: Outcome
    reasons: tuple[ReasonCode, ...]  # every rule that applied, in table order

    @property
    def exclusions(self) -> tuple[ReasonCode, ...]:
        return tuple(r.code for r in RULES if r.effect is Effect.EXCLUDES and r.code in self.reasons)


def outcome_of(applied: list[Rule]) -> Outcome:
    effects = {r.effect for r in applied}
    if Effect.URGENT_REVIEW in effects:
        return "needs_review"
    if Effect.EXCLUDES in effects:
        return "ineligible"
    return "needs_review" if Effect.REVIEW in effects else "eligible"


def screen(intake: Intake, criteria: Criteria) -> Screening:
    """Every rule is checked, so the reasons name all that applied, not just the first."""
    applied = [rule for rule in RULES if rule.applies(intake, criteria)]
    phq9, gad7 = sum(intake.phq9), sum(intake.gad7)
    return Screening(
        phq9_total=phq9,
        phq9_band=phq9_band(phq9),
        gad7_total=gad7,
        gad7_band=gad7_band(gad7),
        safety_flag=intake.phq9[8] > 0,
        outcome=outcome_of(applied),
        reasons=tuple(r.code for r in applied),
    )


@dataclass(frozen=True)
class Assessment:
    id: str
    intake: Intake
    screening: Screening
    submitted_by: str
    submitted_at: datetime

    def screened_event(self) -> Screened:
        s, bp = self.screening, self.intake.blood_pressure
        return Screened(
            assessment_id=self.id,
            patient_state=self.intake.state,
            phq9_total=s.phq9_total,
            phq9_band=s.phq9_band,
            gad7_total=s.gad7_total,
            gad7_band=s.gad7_band,
            safety_flag=s.safety_flag,
            outcome=s.outcome,
            reasons=s.reasons,
            blood_pressure=None
            if bp is None
            else BloodPressureReading(systolic_mmhg=bp.systolic, diastolic_mmhg=bp.diastolic),
        )


def assess(intake: Intake, criteria: Criteria, *, assessment_id: str, submitted_by: str, now: datetime) -> Assessment:
    return Assessment(assessment_id, intake, screen(intake, criteria), submitted_by, now)


def rules_table(criteria: Criteria) -> str:
    """The rule table as Markdown, with the configured numbers filled in (rendered into the README)."""
    values = {f.name: getattr(criteria, f.name) for f in fields(Criteria)}
    lines = ["| reason code | effect | rule |", "|---|---|---|"]
    lines += [f"| `{r.code}` | {r.effect} | {r.description.format(**values)} |" for r in RULES]
    return "\n".join(lines)
