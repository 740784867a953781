"""Every warning of every stage, gathered for summary.json ``warnings`` and the report.

The stages tell the user about problems in two ways: ``log.warning`` on the ``exsyfit`` logger
(printed as ``warning: ...`` by the command line) and ``warnings.warn`` from the library
(series checks, convergence).  :class:`WarningCollector` catches both while a stage runs, shows
the caught ``warnings.warn`` messages as log warnings (so the command line prints them once),
and keeps each message as one plain sentence, without duplicates, in the order they came.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger("exsyfit")


def plain_sentence(message: Any) -> str:
    """One line, whitespace collapsed, first letter capital, ending with a full stop."""
    text = re.sub(r"\s+", " ", str(message)).strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def unique_sentences(messages: Iterable[Any]) -> list[str]:
    """:func:`plain_sentence` of each message, duplicates removed, order kept."""
    out: list[str] = []
    for m in messages:
        s = plain_sentence(m)
        if s and s not in out:
            out.append(s)
    return out


def _ours(w: warnings.WarningMessage) -> bool:
    """A warning raised by exsyfit itself (not a third-party library's internals)."""
    return (w.category.__module__.startswith("exsyfit")
            or "exsyfit" in Path(str(w.filename)).parts)


class _Handler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "in_summary", True):  # extra={"in_summary": False}: terminal only
            self.sink.append(record.getMessage())


class WarningCollector:
    """Context manager that records the warnings of a stage.

    Parameters
    ----------
    quiet : bool
        Only record: the log lines of the stage (warnings included) are not shown.

    Examples
    --------
    >>> with WarningCollector() as caught:
    ...     log.warning("the chain is short")
    >>> caught.messages
    ['The chain is short.']
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._saved: tuple[list[logging.Handler], bool, int] | None = None
        self._raw: list[str] = []
        self._handler = _Handler(self._raw)
        self._catch: Any = None

    @property
    def messages(self) -> list[str]:
        """The warnings so far, one plain sentence each, without duplicates."""
        return unique_sentences(self._raw)

    def add(self, messages: Iterable[Any]) -> None:
        """Record warnings that came from elsewhere (a worker process, integration.json)."""
        self._raw.extend(str(m) for m in messages)

    def __enter__(self) -> WarningCollector:
        if self.quiet:  # record only: nothing reaches the terminal
            self._saved = (log.handlers[:], log.propagate, log.level)
            log.handlers[:] = []
            log.propagate = False
            log.setLevel(logging.WARNING)
        log.addHandler(self._handler)
        self._catch = warnings.catch_warnings(record=True)
        self._caught = self._catch.__enter__()
        warnings.simplefilter("always", UserWarning)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._catch.__exit__(exc_type, exc, tb)
        try:
            for w in self._caught:
                if issubclass(w.category, UserWarning) and _ours(w):
                    log.warning("%s", w.message)  # reaches the handler and the command line
        finally:
            log.removeHandler(self._handler)
            if self._saved is not None:
                log.handlers[:], log.propagate, level = self._saved
                log.setLevel(level)
