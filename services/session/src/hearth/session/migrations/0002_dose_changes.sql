-- Every change of the dose of the sessions to come, by a clinician (the `next-dose` command or a dose given at a
-- session start): from and to, who and when, whether it was an increase above the rules file's maximum step per
-- change (then allowed only with the prescriber's justification, free text kept here only), and the rules
-- version it was checked against.  With the approvals' starting doses and the sessions' doses it is the
-- patient's dose history.
CREATE TABLE session_dose_changes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id     text NOT NULL REFERENCES session_patients,
    approval_id    text NOT NULL,
    from_mg        integer NOT NULL CHECK (from_mg BETWEEN 100 AND 600),
    to_mg          integer NOT NULL CHECK (to_mg BETWEEN 100 AND 600),
    changed_at     timestamptz NOT NULL,
    changed_by     text NOT NULL,
    above_step     boolean NOT NULL,
    justification  text,
    rules_version  text NOT NULL,
    CHECK (NOT above_step OR justification IS NOT NULL)
);
CREATE INDEX session_dose_changes_by_patient ON session_dose_changes (patient_id, changed_at, id);
