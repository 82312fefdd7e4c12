-- Envelope encryption: a data key per patient, stored only wrapped (AES-256-GCM) by the master key from
-- configuration.  Crypto-shredding destroys wrapped_key (and records when): every ciphertext sealed with it,
-- here and in any backup, becomes unreadable, while orders, audit and events stay as they were.
CREATE TABLE patient_data_keys (
    key_id uuid PRIMARY KEY,
    patient_id text NOT NULL,
    wrapped_key bytea,
    master_key_id text NOT NULL,
    created_at timestamptz NOT NULL,
    shredded_at timestamptz,
    CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL))
);
CREATE UNIQUE INDEX patient_data_keys_active ON patient_data_keys (patient_id) WHERE shredded_at IS NULL;

-- Shipping details, one row per order; every personal column is sealed separately (nonce || ciphertext ||
-- tag) with the patient's data key, bound to its order, column and key.  ship_to_state is not personal data
-- on its own (it travels in box-shipped) and stays readable so the approved-state rule can be checked.
CREATE TABLE shipping_details (
    order_id text PRIMARY KEY REFERENCES orders (order_id),
    patient_id text NOT NULL,
    key_id uuid NOT NULL REFERENCES patient_data_keys (key_id),
    ship_to_state text NOT NULL,
    recipient_name bytea NOT NULL,
    address_line1 bytea NOT NULL,
    address_line2 bytea,
    city bytea NOT NULL,
    postal_code bytea NOT NULL,
    phone bytea,
    updated_at timestamptz NOT NULL
);
CREATE INDEX shipping_details_patient ON shipping_details (patient_id);
