"""Durations shortened by configuration so a whole care journey takes seconds, not weeks."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    check_in_offsets: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0)
    check_in_grace: float = 1.5
    auto_close_after: float = 3.0
    min_session_interval: float = 2.0
    integration_opens_after: float = 2.0
    integration_closes_after: float = 6.0
    dose_review_after: float = 30.0

    def env(self) -> dict[str, dict[str, str]]:
        """The HEARTH_* overrides of each service for these timings."""
        return {
            "session": {
                "HEARTH_CHECK_IN_OFFSETS_SECONDS": json.dumps(list(self.check_in_offsets)),
                "HEARTH_CHECK_IN_GRACE_SECONDS": str(self.check_in_grace),
                "HEARTH_AUTO_CLOSE_AFTER_SECONDS": str(self.auto_close_after),
                "HEARTH_MIN_SESSION_INTERVAL_HOURS": str(self.min_session_interval / 3600),
            },
            "followup": {
                "HEARTH_INTEGRATION_OPENS_AFTER_SECONDS": str(self.integration_opens_after),
                "HEARTH_INTEGRATION_CLOSES_AFTER_SECONDS": str(self.integration_closes_after),
                "HEARTH_DOSE_REVIEW_AFTER_SECONDS": str(self.dose_review_after),
            },
        }
