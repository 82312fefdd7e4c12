"""The care journey as FHIR R4 resources, for electronic health records, registries and analytics.

Pure mappings from contract events (``hearth.contracts``) to FHIR R4 resources as JSON objects: no I/O. Patients
appear only as logical references by pseudonymous id (``codes.PATIENT_ID``). ``journey(events)`` folds events
into the current resources; ``bundle`` and ``ndjson_by_type`` package them. ``hearth fhir bundle|export`` (cli.py)
reads the events from Kafka.
"""

from hearth.fhir.common import Resource
from hearth.fhir.journey import MAPPINGS, bundle, full_url, journey, merge, ndjson_by_type, resources_of, updated_since

__all__ = [
    "MAPPINGS",
    "Resource",
    "bundle",
    "full_url",
    "journey",
    "merge",
    "ndjson_by_type",
    "resources_of",
    "updated_since",
]
