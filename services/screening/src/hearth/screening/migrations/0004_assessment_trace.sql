-- The W3C traceparent of the intake request, so the clinician's later decision (a request of its own, in a
-- trace of its own) can link its span to the intake's trace (docs/decisions/tracing.md).  Not personal data.
ALTER TABLE assessments ADD COLUMN traceparent text;
