-- Envelope encryption of personal data, in every service that keeps free text (hearth.kit.vault): a data key per
-- patient, stored only wrapped (AES-256-GCM) by the service's master key from configuration. Erasing a patient
-- (crypto-shredding) destroys wrapped_key and records when: everything sealed with it, in this database, in its
-- audit trail and in any backup, can never be opened again, while rows, audit chain and events stay as they were.
CREATE TABLE hearth_data_keys (
    key_id uuid PRIMARY KEY,
    patient_id text NOT NULL,
    wrapped_key bytea,
    master_key_id text NOT NULL,
    created_at timestamptz NOT NULL,
    shredded_at timestamptz,
    CHECK ((wrapped_key IS NULL) = (shredded_at IS NOT NULL))
);
CREATE UNIQUE INDEX hearth_data_keys_active ON hearth_data_keys (patient_id) WHERE shredded_at IS NULL;
CREATE INDEX hearth_data_keys_patient ON hearth_data_keys (patient_id);
