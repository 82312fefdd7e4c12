"""Example intakes: the OpenAPI example, and a starting point for the tests of this service and the journey tests.

The baseline is eligible when its state (CO) is served; change one fact at a time, e.g.
`intake_body(patient_id="pt-1", blood_pressure=None)` or `intake(mania=True)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .domain import GAD7_ITEMS, ITEM_MAX, PHQ9_ITEMS, BloodPressure, History, Intake, Payer, Trial

_HISTORY = frozenset(f.name for f in dataclasses.fields(History))


def answers(total: int, items: int, *, item9: int = 0) -> tuple[int, ...]:
    """`items` answers of 0-3 summing to `total`; for PHQ-9 (9 items) the last one, item 9, is `item9`."""
    phq9 = items == PHQ9_ITEMS
    free, rest = (items - 1, total - item9) if phq9 else (items, total)
    if not 0 <= rest <= ITEM_MAX * free:
        raise ValueError(f"no {items} answers sum to {total} with item 9 = {item9}")
    values = [ITEM_MAX] * (rest // ITEM_MAX) + ([rest % ITEM_MAX] if rest % ITEM_MAX else [])
    values += [0] * (free - len(values))
    return tuple(values) + ((item9,) if phq9 else ())


def intake(**changes: Any) -> Intake:
    """The baseline intake with `changes`; medical-history answers may be given by name (`mania=True`)."""
    history = {name: changes.pop(name) for name in list(changes) if name in _HISTORY}
    base = Intake(
        patient_id="pt-example-0001",
        age=34,
        state="CO",
        phq9=answers(16, PHQ9_ITEMS),
        gad7=answers(11, GAD7_ITEMS),
        trials=(Trial("sertraline", True, 8), Trial("bupropion", True, 6)),
        history=History(**history),
        medications=("sertraline 100mg",),
        blood_pressure=BloodPressure(122, 78),
        pregnant_or_breastfeeding=False,
        substance_use_disorder=False,
        support_person_present=True,
        payer=Payer("insurance", "plan-co-ppo"),
    )
    return dataclasses.replace(base, **changes)


def intake_body(**changes: Any) -> dict[str, Any]:
    """The baseline as the JSON body of `POST /intakes`; medical-history answers may be given by name."""
    body: dict[str, Any] = {
        "patient_id": "pt-example-0001",
        "age": 34,
        "state": "CO",
        "phq9": list(answers(16, PHQ9_ITEMS)),
        "gad7": list(answers(11, GAD7_ITEMS)),
        "antidepressant_trials": [
            {"drug": "sertraline", "adequate_dose": True, "weeks": 8},
            {"drug": "bupropion", "adequate_dose": True, "weeks": 6},
        ],
        "medical_history": dict.fromkeys(sorted(_HISTORY), False),
        "current_medications": ["sertraline 100mg"],
        "blood_pressure": {"systolic": 122, "diastolic": 78},
        "pregnant_or_breastfeeding": False,
        "substance_use_disorder": False,
        "support_person_present": True,
        "payer": {"kind": "insurance", "plan_code": "plan-co-ppo"},
    }
    body["medical_history"].update({name: changes.pop(name) for name in list(changes) if name in _HISTORY})
    return body | changes
