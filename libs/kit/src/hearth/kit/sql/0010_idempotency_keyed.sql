-- Request fingerprints are now HMAC-SHA256 under the service's own secret ('hmac-sha256:<hex>'). A fingerprint
-- stored before was a plain SHA-256 of the request body: anyone holding a copy of this table could confirm a
-- guessed body (a person's shipping details). Those rows are discarded; a retry of such a request runs again
-- as a new one, which the handlers' own uniqueness rules keep from doubling an effect.
DELETE FROM hearth_idempotency WHERE request_hash NOT LIKE 'hmac-sha256:%';
