-- The session service's own view of each patient (folded from screening and fulfillment events) and the
-- sessions it runs.  Free text (notes) lives only here: it is never emitted and never logged.

CREATE TABLE session_patients (
    patient_id  text PRIMARY KEY,
    first_seen  timestamptz NOT NULL DEFAULT now()
);

-- One row per approval id seen, from `approved` or `approval-revoked` (whichever came first).
CREATE TABLE session_approvals (
    patient_id        text NOT NULL REFERENCES session_patients,
    approval_id       text NOT NULL,
    plan              text CHECK (plan IN ('foundation', 'extended')),
    dose_count        integer,
    starting_dose_mg  integer,
    approved_at       timestamptz,
    revoked_at        timestamptz,
    dose_mg           integer CHECK (dose_mg BETWEEN 100 AND 600),
    PRIMARY KEY (patient_id, approval_id)
);

-- One row per box, from `box-shipped` or `box-delivered` (whichever came first).
CREATE TABLE session_boxes (
    patient_id    text NOT NULL REFERENCES session_patients,
    order_id      text NOT NULL,
    box_number    integer NOT NULL,
    approval_id   text NOT NULL,
    doses_in_box  integer NOT NULL CHECK (doses_in_box > 0),
    shipped       boolean NOT NULL,
    delivered_at  timestamptz,
    PRIMARY KEY (patient_id, order_id, box_number)
);

CREATE TABLE sessions (
    session_id              text PRIMARY KEY,
    patient_id              text NOT NULL REFERENCES session_patients,
    approval_id             text NOT NULL,
    session_number          integer NOT NULL CHECK (session_number >= 1),
    dose_mg                 integer NOT NULL CHECK (dose_mg BETWEEN 100 AND 600),
    dose_finding            boolean NOT NULL,
    started_at              timestamptz NOT NULL,
    started_by              text NOT NULL,
    bp_systolic             integer NOT NULL,
    bp_diastolic            integer NOT NULL,
    bp_taken_at             timestamptz NOT NULL,
    support_person_present  boolean NOT NULL,
    status                  text NOT NULL CHECK (status IN ('in_progress', 'completed')),
    consecutive_misses      integer NOT NULL DEFAULT 0,
    ended_at                timestamptz,
    closed_by               text CHECK (closed_by IN ('clinician', 'auto')),
    UNIQUE (patient_id, approval_id, session_number)
);
-- At most one running session per patient, whatever the application does.
CREATE UNIQUE INDEX sessions_one_in_progress ON sessions (patient_id) WHERE status = 'in_progress';

CREATE TABLE session_check_ins (
    session_id     text NOT NULL REFERENCES sessions,
    check_in_index integer NOT NULL,
    due_at         timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'done', 'missed', 'late', 'cancelled')),
    missed_at      timestamptz,
    recorded_at    timestamptz,
    recorded_by    text,
    vitals         jsonb,
    notes          text,
    PRIMARY KEY (session_id, check_in_index)
);

CREATE TABLE session_adverse_events (
    adverse_event_id  text PRIMARY KEY,
    session_id        text NOT NULL REFERENCES sessions,
    kind              text NOT NULL,
    severity          text NOT NULL,
    occurred_at       timestamptz NOT NULL,
    reported_at       timestamptz NOT NULL,
    reported_by       text NOT NULL,
    notes             text
);
CREATE INDEX session_adverse_events_by_session ON session_adverse_events (session_id);
