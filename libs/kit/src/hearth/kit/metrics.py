"""The Prometheus metrics operations watch: handler latency and errors, outbox backlog, timer lateness, DLQ."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

HANDLER_LATENCY = Histogram(
    "hearth_handler_seconds",
    "Time to handle one event, timer or command, transaction included",
    ["service", "trigger"],
    buckets=_LATENCY_BUCKETS,
)
HANDLER_ERRORS = Counter(
    "hearth_handler_errors_total",
    "Handler failures by kind (transient, permanent, contract)",
    ["service", "trigger", "kind"],
)
EVENTS_CONSUMED = Counter(
    "hearth_events_consumed_total",
    "Events consumed, by outcome (applied, duplicate)",
    ["service", "event_type", "outcome"],
)
OUTBOX_PUBLISHED = Counter("hearth_outbox_published_total", "Events published by the outbox relay", ["service"])
OUTBOX_BACKLOG = Gauge("hearth_outbox_backlog", "Events staged and not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("hearth_outbox_oldest_age_seconds", "Age of the oldest unpublished event", ["service"])
TIMER_LATENESS = Histogram(
    "hearth_timer_lateness_seconds",
    "How long after its due time a timer fired",
    ["service", "kind"],
    buckets=_LATENESS_BUCKETS,
)
TIMERS_FIRED = Counter("hearth_timers_fired_total", "Timers fired", ["service", "kind"])
DLQ_RECORDS = Counter("hearth_dlq_records_total", "Records sent to the dead-letter topic", ["service", "origin_topic"])
RECORDS_REJECTED = Counter(
    "hearth_records_rejected_total",
    "Consumed records dead-lettered, by reason (contract, wrong_topic, wrong_source, conflicting_duplicate, ...)",
    ["service", "reason"],
)
DLQ_PUBLISH_FAILED = Counter(
    "hearth_dlq_publish_failed_total",
    "Dead letters the broker refused for good (too large, not authorised); kept in the service's database",
    ["service"],
)
PUBLISH_REFUSED = Counter(
    "hearth_publish_refused_total",
    "Outbox batches the broker refused with a permanent error (retried, never dropped: operators must act)",
    ["service"],
)
CONSUMER_POSITION_FAULTS = Gauge(
    "hearth_consumer_position_faults",
    "Partitions not consumed because the database position is outside what Kafka still holds",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "hearth_consumer_lag",
    "Records on an assigned partition after the consumer's position (Kafka's high watermark minus the next offset"
    " to settle); kept as batches settle and on an interval when idle, removed when the partition is revoked",
    ["service", "topic", "partition"],
)
HTTP_REQUESTS = Histogram(
    "hearth_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
