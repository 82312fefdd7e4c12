-- The W3C traceparent of the handler that opened the order (the approval's trace), kept while tracing is on so
-- the pharmacy's and carrier's later requests on the order link their spans to it (docs/decisions/tracing.md).
-- Not personal data.
ALTER TABLE orders ADD COLUMN traceparent text;
