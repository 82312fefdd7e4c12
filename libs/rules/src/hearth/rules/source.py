"""Reading the rules file: once to validate it, and again whenever it changes (the edge with the file system).

`RuleSource.current()` looks at the file's modification time and size on every call and re-reads it when they
changed, so an operator's edit applies to the next decision without a restart.  A changed file that does not
validate is refused: the last good version stays in force and the error is logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from .model import RuleBook

DEFAULT_FILE = Path(__file__).with_name("clinical_rules.toml")
ENV_VARIABLE = "HEARTH_RULES_FILE"

log = logging.getLogger(__name__)


class RulesFileError(ValueError):
    """The file cannot be read, is not TOML, or does not validate; the message names what is wrong."""


def parse(text: bytes, *, origin: str = "<rules>") -> RuleBook:
    try:
        document = tomllib.loads(text.decode("utf-8"))
        book = RuleBook.model_validate(document)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesFileError(f"{origin}: not a UTF-8 TOML file: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors())
        raise RulesFileError(f"{origin}: {problems}") from None
    return book.with_digest(hashlib.sha256(text).hexdigest()[:12])


def load(path: Path) -> RuleBook:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise RulesFileError(f"{path}: cannot be read: {exc.strerror}") from None
    return parse(text, origin=str(path))


def configured_path(setting: str | None = None) -> Path:
    """The rules file: the setting, else HEARTH_RULES_FILE, else the file shipped with this package."""
    chosen = setting or os.environ.get(ENV_VARIABLE)
    return Path(chosen) if chosen else DEFAULT_FILE


class RuleSource:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = configured_path(str(path) if path is not None else None)
        self._book = load(self.path)  # a service does not start on a bad file
        self._seen = self._signature()

    def _signature(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def current(self) -> RuleBook:
        signature = self._signature()
        if signature is not None and signature != self._seen:
            self._seen = signature
            try:
                book = load(self.path)
            except RulesFileError as exc:
                log.error("rules_file_refused: %s (version %s stays in force)", exc, self._book.version)
            else:
                if book.digest != self._book.digest:
                    log.warning("rules_reloaded: version %s -> %s", self._book.version, book.version)
                self._book = book
        return self._book


class FixedRules:
    """A rule book that never changes (tests, tools)."""

    def __init__(self, book: RuleBook) -> None:
        self.book = book

    def current(self) -> RuleBook:
        return self.book
