-- Each decision records the clinical rules it was taken under (the rules file's version and SHA-256 prefix, and
-- the prescribing regime in force that day), and what an approval under a regime that asks for them rests on:
-- the day of the in-person medical evaluation, or the prescriber's telemedicine special registration.
-- Decisions taken before this migration have none (NULL).
ALTER TABLE decisions
    ADD COLUMN rules_version text,
    ADD COLUMN rules_digest text,
    ADD COLUMN regime text,
    ADD COLUMN in_person_evaluation_on date,
    ADD COLUMN special_registration text;
