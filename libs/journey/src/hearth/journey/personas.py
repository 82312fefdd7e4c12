"""Who the synthetic patients are: a seeded mix of the cases the system must handle."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Kind = Literal["ineligible", "review_approved", "review_declined", "foundation", "extended"]

# (kind, share of patients)
MIX: tuple[tuple[Kind, float], ...] = (
    ("ineligible", 0.15),
    ("review_approved", 0.06),
    ("review_declined", 0.04),
    ("foundation", 0.45),
    ("extended", 0.30),
)
EXCLUSIONS = ("under_18", "hypertension", "mania", "not_trd")


@dataclass(frozen=True)
class Persona:
    patient_id: str
    kind: Kind
    state: str
    exclusion: str | None  # for ineligible patients: which rule excludes them
    sessions: int
    skipped_check_ins: tuple[int, ...]  # check-in indexes the clinician misses in the first session
    skips_integration: bool
    starting_dose_mg: int

    @property
    def approved(self) -> bool:
        return self.kind in ("review_approved", "foundation", "extended")

    @property
    def plan(self) -> str:
        return "extended" if self.kind == "extended" else "foundation"


def cast(n: int, seed: int, *, sessions: int = 2, check_ins: int = 4) -> list[Persona]:
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    people = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        roll = rng.random()
        # A quarter miss two check-ins in a row (escalation 1 then 2); one in twenty miss three (escalation 3).
        skipped: tuple[int, ...] = ()
        if roll < 0.05 and check_ins >= 4:
            skipped = (1, 2, 3)
        elif roll < 0.25 and check_ins >= 3:
            skipped = (1, 2)
        people.append(
            Persona(
                patient_id=f"pt-{seed}-{i:05d}",
                kind=kind,
                state=rng.choice(("CO", "CA", "NY", "TX", "FL", "WA")),
                exclusion=rng.choice(EXCLUSIONS) if kind == "ineligible" else None,
                sessions=sessions,
                skipped_check_ins=skipped,
                skips_integration=rng.random() < 0.3,
                starting_dose_mg=rng.choice((100, 150, 200, 250)),
            )
        )
    return people


def intake_body(p: Persona) -> dict[str, object]:
    """An intake that screens the way the persona should: eligible, excluded by one rule, or for review."""
    phq9 = [2, 2, 2, 2, 2, 2, 2, 1, 1 if p.kind.startswith("review") else 0]
    trials = [
        {"drug": "sertraline", "adequate_dose": True, "weeks": 8},
        {"drug": "bupropion", "adequate_dose": True, "weeks": 6},
    ]
    body: dict[str, object] = {
        "patient_id": p.patient_id,
        "age": 17 if p.exclusion == "under_18" else 41,
        "state": p.state,
        "phq9": phq9,
        "gad7": [2, 2, 1, 1, 2, 1, 1],
        "antidepressant_trials": trials[:1] if p.exclusion == "not_trd" else trials,
        "medical_history": {
            "heart_disease": False,
            "psychosis_or_schizophrenia": False,
            "mania": p.exclusion == "mania",
            "severe_liver_disease": False,
            "severe_kidney_disease": False,
            "uncontrolled_seizures": False,
            "glaucoma": False,
            "raised_intracranial_pressure": False,
            "untreated_hyperthyroidism": False,
            "bladder_disease": False,
        },
        "current_medications": ["sertraline 100mg"],
        "blood_pressure": {"systolic": 162, "diastolic": 98}
        if p.exclusion == "hypertension"
        else {"systolic": 118, "diastolic": 76},
        "pregnant_or_breastfeeding": False,
        "substance_use_disorder": False,
        "support_person_present": True,
        "payer": {"kind": "self_pay"},
    }
    return body
