-- The screening service's own tables.  An assessment keeps the answers the rules need and the outcome they gave
-- at the time (a later change of configuration never rewrites it); there is no name, address or birth date
-- anywhere: the patient is a pseudonymous id.  Who decided what and when is also written to the kit's
-- hash-chained `hearth_audit` log, in the same transaction.
CREATE TABLE assessments (
    id text PRIMARY KEY,
    patient_id text NOT NULL,
    patient_state char(2) NOT NULL,
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL,
    intake jsonb NOT NULL,
    phq9_total smallint NOT NULL CHECK (phq9_total BETWEEN 0 AND 27),
    phq9_band text NOT NULL,
    gad7_total smallint NOT NULL CHECK (gad7_total BETWEEN 0 AND 21),
    gad7_band text NOT NULL,
    safety_flag boolean NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('eligible', 'ineligible', 'needs_review')),
    reasons text[] NOT NULL,
    CHECK (safety_flag = false OR outcome = 'needs_review')
);
CREATE INDEX assessments_patient ON assessments (patient_id, submitted_at);

-- One decision per assessment (the UNIQUE constraint backs the row lock the handlers take).  An approval's id is
-- the approval id carried by `approved`; revoking it fills the revoked_* columns once.
CREATE TABLE decisions (
    id text PRIMARY KEY,
    assessment_id text NOT NULL UNIQUE REFERENCES assessments (id),
    kind text NOT NULL CHECK (kind IN ('approved', 'declined')),
    prescriber_id text NOT NULL,
    decided_at timestamptz NOT NULL,
    plan text CHECK (plan IN ('foundation', 'extended')),
    starting_dose_mg smallint CHECK (starting_dose_mg BETWEEN 100 AND 400),
    prescriber_license_state char(2),
    justification text,
    reason text,
    note text,
    revoked_by text,
    revoked_at timestamptz,
    revoke_reason text,
    revoke_note text,
    CHECK (kind <> 'approved' OR (plan IS NOT NULL AND starting_dose_mg IS NOT NULL
                                  AND prescriber_license_state IS NOT NULL)),
    CHECK (kind <> 'declined' OR (reason IS NOT NULL AND revoked_at IS NULL)),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_reason IS NULL))
);
