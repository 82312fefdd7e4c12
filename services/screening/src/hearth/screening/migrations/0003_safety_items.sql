-- A safety item for every PHQ-9 item 9 (thoughts of self-harm) answer above 0 at intake: a clinician must
-- acknowledge it by `acknowledge_by`; each deadline that passes unacknowledged raises `escalation_level` (1-3) and
-- emits safety-review-overdue.  The deadline itself is a kit timer (`hearth_timers`, key `safety-item:<id>`).
-- The resolution note is free text: stored here and in the audit log, never emitted or logged.
CREATE TABLE safety_items (
    id                 text PRIMARY KEY,
    assessment_id      text NOT NULL UNIQUE REFERENCES assessments (id),
    patient_id         text NOT NULL,
    phq9_item9         smallint NOT NULL CHECK (phq9_item9 BETWEEN 1 AND 3),
    raised_at          timestamptz NOT NULL,
    acknowledge_by     timestamptz NOT NULL CHECK (acknowledge_by >= raised_at),
    escalation_level   smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 3),
    last_escalated_at  timestamptz,
    acknowledged_at    timestamptz,
    acknowledged_by    text,
    resolved_at        timestamptz,
    resolved_by        text,
    resolution_note    text,
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL)),
    CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
    CHECK (resolved_at IS NULL OR acknowledged_at IS NOT NULL)
);
CREATE INDEX safety_items_unresolved ON safety_items (raised_at) WHERE resolved_at IS NULL;

-- The review queue reads undecided assessments in priority order.
CREATE INDEX assessments_submitted ON assessments (submitted_at, id);
