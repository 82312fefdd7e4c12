"""The follow-up rules, pure: no I/O, no async, time passed in.

integration.py — the integration window after each dosing session; patients.py — mood baseline, first session
and dose review; mood.py — scoring, percent change, response and remission; items.py — care-team follow-up
items; outcomes.py — the program's outcome figures across patients.
"""

from .errors import Refused

__all__ = ["Refused"]
