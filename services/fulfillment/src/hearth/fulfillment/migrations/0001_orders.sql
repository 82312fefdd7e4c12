-- One order per approval (the unique approval_id is the backstop behind the inbox and the per-approval lock);
-- status is derived by the domain and stored for queries.  No personal data in these tables: the patient is
-- a pseudonymous id, and the state is the approved US state.
CREATE TABLE orders (
    order_id text PRIMARY KEY,
    approval_id text NOT NULL UNIQUE,
    patient_id text NOT NULL,
    plan text NOT NULL CHECK (plan IN ('foundation', 'extended')),
    dose_count integer NOT NULL CHECK (dose_count > 0),
    patient_state text NOT NULL,
    prescriber_license_state text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'completed', 'cancelled', 'revoked')),
    doses_used integer NOT NULL DEFAULT 0 CHECK (doses_used >= 0),
    revoked_at timestamptz,
    revocation_reason text,
    cancelled_at timestamptz,
    cancel_reason text,
    flags text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX orders_patient ON orders (patient_id, created_at);
CREATE INDEX orders_flagged ON orders (created_at) WHERE cardinality(flags) > 0;

CREATE TABLE order_boxes (
    order_id text NOT NULL REFERENCES orders (order_id),
    box_number integer NOT NULL CHECK (box_number >= 1),
    doses integer NOT NULL CHECK (doses BETWEEN 1 AND 24),
    state text NOT NULL
        CHECK (state IN ('created', 'packed', 'shipped', 'delivered', 'returned', 'lost', 'cancelled')),
    carrier text,
    tracking_number text,
    ship_to_state text,
    created_at timestamptz NOT NULL,
    packed_at timestamptz,
    shipped_at timestamptz,
    delivered_at timestamptz,
    returned_at timestamptz,
    lost_at timestamptz,
    cancelled_at timestamptz,
    PRIMARY KEY (order_id, box_number)
);

-- A revocation is kept even when its approval has not arrived yet (events on different topics have no order):
-- the approval, when it comes, opens an order that is cancelled at once and can never ship.
CREATE TABLE revocations (
    approval_id text PRIMARY KEY,
    prescriber_id text NOT NULL,
    reason text NOT NULL,
    revoked_at timestamptz NOT NULL,
    event_id uuid NOT NULL
);

-- One dose per started session, counted per approval (a session may arrive before its approval).
CREATE TABLE dose_uses (
    session_id text PRIMARY KEY,
    approval_id text NOT NULL,
    patient_id text NOT NULL,
    started_at timestamptz NOT NULL
);
CREATE INDEX dose_uses_approval ON dose_uses (approval_id);
