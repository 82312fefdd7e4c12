"""HTTP request bodies. Unknown fields, wrong types and out-of-range values are refused with 422 naming the field.

The intake has no name, address or birth date fields: the patient is a pseudonymous id.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from hearth.contracts.events.codes import ReasonCode
from hearth.contracts.events.decisions import Plan
from hearth.contracts.primitives import Identifier, PatientId, StrictBool, StrictInt, UsState
from hearth.kit.http_errors import Command

from . import decisions, domain, examples

# Free text (justifications, notes): any printable text, line breaks allowed, no other control characters.
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
# A drug or medication name as the patient typed it, e.g. "sertraline" or "Wellbutrin XL 150mg".
DrugName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .,'()/+%-]*$")
]
Answer = Annotated[StrictInt, Field(ge=0, le=domain.ITEM_MAX)]
Unknowable = Annotated[StrictBool | None, Field(description="true, false, or null when the patient does not know")]


class TrialBody(Command):
    drug: DrugName
    adequate_dose: StrictBool = Field(description="Taken at a therapeutic dose")
    weeks: StrictInt = Field(ge=0, le=520, description="Weeks taken at that dose")


class HistoryBody(Command):
    """Each answer is required; null means "don't know" and sends the case to review (missing_data)."""

    heart_disease: Unknowable = Field(description="Unstable or severe heart disease")
    psychosis_or_schizophrenia: Unknowable
    mania: Unknowable
    severe_liver_disease: Unknowable
    severe_kidney_disease: Unknowable
    uncontrolled_seizures: Unknowable
    glaucoma: Unknowable
    raised_intracranial_pressure: Unknowable
    untreated_hyperthyroidism: Unknowable
    bladder_disease: Unknowable = Field(description="Bladder or urological disease, e.g. interstitial cystitis")


class BloodPressureBody(Command):
    systolic: StrictInt = Field(ge=50, le=300, description="mmHg")
    diastolic: StrictInt = Field(ge=20, le=200, description="mmHg")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        if self.diastolic >= self.systolic:
            raise ValueError("diastolic must be below systolic")
        return self


class PayerBody(Command):
    kind: Literal["self_pay", "insurance"]
    plan_code: Identifier | None = Field(default=None, description="The insurance plan's code; only for insurance")

    @model_validator(mode="after")
    def _plan_code_for_insurance(self) -> Self:
        if (self.kind == "insurance") != (self.plan_code is not None):
            raise ValueError("plan_code is required for insurance and not allowed for self_pay")
        return self


class IntakeBody(Command):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.intake_body()]})

    patient_id: PatientId
    age: StrictInt = Field(ge=0, le=130, description="Age in years")
    state: UsState = Field(description="US state of residence (USPS code)")
    phq9: list[Answer] = Field(min_length=domain.PHQ9_ITEMS, max_length=domain.PHQ9_ITEMS)
    gad7: list[Answer] = Field(min_length=domain.GAD7_ITEMS, max_length=domain.GAD7_ITEMS)
    antidepressant_trials: list[TrialBody] = Field(max_length=50)
    medical_history: HistoryBody
    current_medications: list[DrugName] = Field(max_length=50, description="Stored for the prescriber only")
    blood_pressure: BloodPressureBody | None = Field(default=None, description="Omitted: missing_vitals")
    pregnant_or_breastfeeding: Unknowable
    substance_use_disorder: Unknowable = Field(description="An active substance use disorder")
    support_person_present: StrictBool = Field(description="A support person will be present at home")
    payer: PayerBody

    def to_intake(self) -> domain.Intake:
        bp = self.blood_pressure
        return domain.Intake(
            patient_id=self.patient_id,
            age=self.age,
            state=self.state,
            phq9=tuple(self.phq9),
            gad7=tuple(self.gad7),
            trials=tuple(domain.Trial(t.drug, t.adequate_dose, t.weeks) for t in self.antidepressant_trials),
            history=domain.History(**self.medical_history.model_dump()),
            medications=tuple(self.current_medications),
            blood_pressure=None if bp is None else domain.BloodPressure(bp.systolic, bp.diastolic),
            pregnant_or_breastfeeding=self.pregnant_or_breastfeeding,
            substance_use_disorder=self.substance_use_disorder,
            support_person_present=self.support_person_present,
            payer=domain.Payer(self.payer.kind, self.payer.plan_code),
        )


class ApproveBody(Command):
    decision: Literal["approve"]
    plan: Plan = Field(description="foundation (8 doses) or extended (24 doses)")
    starting_dose_mg: StrictInt = Field(ge=decisions.STARTING_DOSE_MG[0], le=decisions.STARTING_DOSE_MG[1])
    prescriber_id: Identifier = Field(description="Must be the caller (the token's subject)")
    prescriber_license_state: UsState = Field(description="Must be the patient's state")
    justification: Text | None = Field(default=None, description="Required to approve a needs_review screening")
    in_person_evaluation_on: date | None = Field(
        default=None,
        description="The day the prescriber evaluated the patient in person; required by a prescribing regime that"
        " asks for an in-person evaluation (from 2027-01-01 unless the telemedicine flexibilities are extended),"
        " unless a telemedicine special registration is given",
    )
    special_registration: Identifier | None = Field(
        default=None,
        description="The prescriber's telemedicine special registration number, where the regime accepts one",
    )

    def request(self) -> decisions.ApproveRequest:
        return decisions.ApproveRequest(
            self.plan,
            self.starting_dose_mg,
            self.prescriber_id,
            self.prescriber_license_state,
            self.justification,
            self.in_person_evaluation_on,
            self.special_registration,
        )


class DeclineBody(Command):
    decision: Literal["decline"]
    reason: ReasonCode
    prescriber_id: Identifier = Field(description="Must be the caller (the token's subject)")
    note: Text | None = None

    def request(self) -> decisions.DeclineRequest:
        return decisions.DeclineRequest(self.reason, self.prescriber_id, self.note)


DecisionBody = Annotated[ApproveBody | DeclineBody, Field(discriminator="decision")]


class RevokeBody(Command):
    reason: ReasonCode
    prescriber_id: Identifier = Field(description="Must be the caller (the token's subject)")
    note: Text | None = None

    def request(self) -> decisions.RevokeRequest:
        return decisions.RevokeRequest(self.reason, self.prescriber_id, self.note)
