-- The patients' data keys move to the kit's table (kit migration 0012), shared by every service's erasure: the
-- rows keep their ids, wrapped keys and shredding times, so every sealed shipping detail opens (or stays
-- shredded) exactly as before.
INSERT INTO hearth_data_keys (key_id, patient_id, wrapped_key, master_key_id, created_at, shredded_at)
    SELECT key_id, patient_id, wrapped_key, master_key_id, created_at, shredded_at FROM patient_data_keys;
ALTER TABLE shipping_details DROP CONSTRAINT shipping_details_key_id_fkey;
ALTER TABLE shipping_details ADD FOREIGN KEY (key_id) REFERENCES hearth_data_keys (key_id);
DROP TABLE patient_data_keys;
