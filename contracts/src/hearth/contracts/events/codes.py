"""Stable reason codes. Values never change meaning; new values may be added within a major version."""

from __future__ import annotations

from hearth.contracts.base import OpenCodes


class ReasonCode(OpenCodes):
    """Why a screening was not eligible, needs review, or why a clinician declined or revoked.

    Exclusions (outcome ineligible): under_18, state_not_served, uncontrolled_hypertension (above 140/90
    mmHg), heart_disease (unstable or severe), psychosis_history (psychosis or schizophrenia), mania_history,
    substance_use_disorder (active), pregnancy_or_breastfeeding, severe_liver_or_kidney_disease,
    uncontrolled_seizures, glaucoma_or_intracranial_pressure, untreated_hyperthyroidism, bladder_disease
    (including interstitial cystitis), not_treatment_resistant (fewer than two adequate antidepressant
    trials). Review triggers (outcome needs_review): safety_flag_item9 (PHQ-9 item 9 above 0),
    borderline_vitals, missing_vitals, missing_data. Clinician decisions only: clinical_judgement,
    patient_request, adverse_event, prescriber_license_lapsed.
    """

    UNDER_18 = "under_18"
    STATE_NOT_SERVED = "state_not_served"
    UNCONTROLLED_HYPERTENSION = "uncontrolled_hypertension"
    HEART_DISEASE = "heart_disease"
    PSYCHOSIS_HISTORY = "psychosis_history"
    MANIA_HISTORY = "mania_history"
    SUBSTANCE_USE_DISORDER = "substance_use_disorder"
    PREGNANCY_OR_BREASTFEEDING = "pregnancy_or_breastfeeding"
    SEVERE_LIVER_OR_KIDNEY_DISEASE = "severe_liver_or_kidney_disease"
    UNCONTROLLED_SEIZURES = "uncontrolled_seizures"
    GLAUCOMA_OR_INTRACRANIAL_PRESSURE = "glaucoma_or_intracranial_pressure"
    UNTREATED_HYPERTHYROIDISM = "untreated_hyperthyroidism"
    BLADDER_DISEASE = "bladder_disease"
    NOT_TREATMENT_RESISTANT = "not_treatment_resistant"
    SAFETY_FLAG_ITEM9 = "safety_flag_item9"
    BORDERLINE_VITALS = "borderline_vitals"
    MISSING_VITALS = "missing_vitals"
    MISSING_DATA = "missing_data"
    CLINICAL_JUDGEMENT = "clinical_judgement"
    PATIENT_REQUEST = "patient_request"
    ADVERSE_EVENT = "adverse_event"
    PRESCRIBER_LICENSE_LAPSED = "prescriber_license_lapsed"


DECISION_ONLY = frozenset(
    {
        ReasonCode.CLINICAL_JUDGEMENT,
        ReasonCode.PATIENT_REQUEST,
        ReasonCode.ADVERSE_EVENT,
        ReasonCode.PRESCRIBER_LICENSE_LAPSED,
    }
)
"""Codes a clinician records; an automatic screening never produces them."""
