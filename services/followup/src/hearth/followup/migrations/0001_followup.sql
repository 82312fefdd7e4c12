-- The follow-up service's own state.  Free text (integration notes, resolution notes) lives only here: it is
-- never emitted and never logged.

-- A patient as follow-up knows them: the screening baseline (totals), the first session, the dose review.
CREATE TABLE followup_patients (
    patient_id text PRIMARY KEY,
    baseline_assessment_id text,
    baseline_phq9 smallint CHECK (baseline_phq9 BETWEEN 0 AND 27),
    baseline_gad7 smallint CHECK (baseline_gad7 BETWEEN 0 AND 21),
    baseline_at timestamptz,
    first_session_at timestamptz,
    dose_review_due_at timestamptz,
    dose_review_emitted_at timestamptz
);

-- One row per dosing session (from session-started and/or session-completed, in either order): its
-- integration window and what was booked or done.  The primary key is what makes a second completion of the
-- same session open no second window.
CREATE TABLE followup_sessions (
    session_id text PRIMARY KEY,
    patient_id text NOT NULL,
    session_number integer,
    started_at timestamptz,
    ended_at timestamptz,
    window_opens_at timestamptz,
    window_closes_at timestamptz,
    integration_status text NOT NULL DEFAULT 'none' CHECK (integration_status IN ('none', 'booked', 'done')),
    integration_id text,
    integration_booked_at timestamptz,
    integration_done_at timestamptz,
    integration_scheduled_for timestamptz,
    integration_recorded_by text,
    integration_notes text,
    due_emitted_at timestamptz,
    overdue_emitted_at timestamptz
);
CREATE INDEX followup_sessions_patient ON followup_sessions (patient_id);

-- PHQ-9 / GAD-7 answers submitted by patients after screening.
CREATE TABLE followup_mood (
    measurement_id uuid PRIMARY KEY,
    patient_id text NOT NULL,
    measured_at timestamptz NOT NULL,
    phq9_answers smallint[] CHECK (cardinality(phq9_answers) = 9),
    gad7_answers smallint[] CHECK (cardinality(gad7_answers) = 7),
    submitted_by text NOT NULL,
    CHECK (phq9_answers IS NOT NULL OR gad7_answers IS NOT NULL)
);
CREATE INDEX followup_mood_patient ON followup_mood (patient_id, measured_at);

-- Care-team follow-up items; `source_key` names the fact that raised one, so it is raised once.
CREATE TABLE followup_items (
    item_id uuid PRIMARY KEY,
    source_key text NOT NULL UNIQUE,
    patient_id text NOT NULL,
    kind text NOT NULL,
    urgency text NOT NULL CHECK (urgency IN ('urgent', 'normal')),
    session_id text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    raised_at timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by text,
    resolution_note text
);
CREATE INDEX followup_items_open ON followup_items (raised_at) WHERE resolved_at IS NULL;
CREATE INDEX followup_items_patient ON followup_items (patient_id, raised_at);
