"""The one error the contracts raise: :class:`ContractError`.

Consumers catch it to dead-letter an event; producers see it when they build an event that breaks its
contract. It subclasses ``ValueError`` so generic validation code keeps working.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

# Pydantic prefixes messages raised from our own validators; the prefix adds nothing for a reader.
_NOISE = ("Value error, ", "Assertion failed, ")


class ContractError(ValueError):
    """An event, or the input to build one, does not satisfy its contract.

    ``field`` is the dotted path of the offending field (``"data.phq9_total"``, ``"time"``) or ``None`` when
    the input as a whole is unusable (not JSON, not an object). ``reason`` says what is wrong. ``problems``
    lists every problem found as ``"field: reason"`` lines, the first of which is ``str(error)``.
    """

    def __init__(self, field: str | None, reason: str, *, problems: tuple[str, ...] = ()) -> None:
        self.field = field
        self.reason = reason
        self.problems = problems or (_line(field, reason),)
        message = self.problems[0]
        if len(self.problems) > 1:
            message += f" (and {len(self.problems) - 1} more: {'; '.join(self.problems[1:])})"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through their args by default, which would lose the keyword-only problems.
        return (_rebuild, (self.field, self.reason, self.problems))

    @classmethod
    def from_validation(cls, error: ValidationError) -> ContractError:
        """Turn pydantic's report into a ContractError that names the first offending field."""
        problems = tuple(_line(_path(item["loc"]), _reason(item["msg"])) for item in error.errors())
        first = error.errors()[0]
        return cls(_path(first["loc"]), _reason(first["msg"]), problems=problems)


def _rebuild(field: str | None, reason: str, problems: tuple[str, ...]) -> ContractError:
    return ContractError(field, reason, problems=problems)


def _path(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) or None


def _reason(message: str) -> str:
    for noise in _NOISE:
        message = message.removeprefix(noise)
    return message


def _line(field: str | None, reason: str) -> str:
    return f"{field}: {reason}" if field else reason
