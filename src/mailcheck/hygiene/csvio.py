"""The suppression list as CSV: import (untrusted files, bounded, errors per line) and
export (safe to open in a spreadsheet).

Columns: ``address,scope,scope_value,reason,source,created,expires``. On import only
``address`` is required; a file without a header row is a list of addresses, one per
line. Times are ISO 8601 (UTC when no offset is given) or Unix seconds; empty
``expires`` is never. A cell starting with ``= + - @ '``, a tab or a carriage return is
written with a leading ``'`` (spreadsheets would run it as a formula: CWE-1236) and read
back without it, so export then import gives the same list.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
from collections.abc import Iterable, Iterator
from typing import Any

from mailcheck.errors import ConfigError, MailcheckError
from mailcheck.hygiene.types import Suppression

__all__ = [
    "COLUMNS",
    "MAX_CSV_BYTES",
    "MAX_CSV_ROWS",
    "CsvRow",
    "ImportResult",
    "format_csv",
    "parse_csv",
]

COLUMNS = ("address", "scope", "scope_value", "reason", "source", "created", "expires")
#: Largest CSV text read (about a million suppressions of ordinary length).
MAX_CSV_BYTES = 64 * 1024 * 1024
#: Most data rows read from one file.
MAX_CSV_ROWS = 1_000_000
#: Most characters in one cell (an address is at most 254; a source at most 500).
MAX_CELL_CHARS = 1000
#: Errors kept in an :class:`ImportResult` (the count goes on).
MAX_ERRORS = 100
_RISKY = ("=", "+", "-", "@", "'", "\t", "\r")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CsvRow:
    """One data row read, its cells unescaped (not yet checked)."""

    line: int
    address: str
    scope: str = ""
    scope_value: str = ""
    reason: str = ""
    source: str | None = None  # None: the file has no source column
    created: float | None = None
    expires: float | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """What an import did.

    Attributes:
        added: entries added or updated.
        rejected: rows refused (a bad address, reason, scope or time).
        errors: ``(line, reason)`` of the first :data:`MAX_ERRORS` refused rows.
    """

    added: int
    rejected: int
    errors: tuple[tuple[int, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "added": self.added,
            "rejected": self.rejected,
            "errors": [{"line": line, "reason": why} for line, why in self.errors],
        }


def _escape(cell: str) -> str:
    return "'" + cell if cell.startswith(_RISKY) else cell


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _time(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{what} {text[:40]!r} is not ISO 8601 or Unix seconds") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        value = when.timestamp()
    if not math.isfinite(value) or not 0 <= value < 1e11:
        raise ValueError(f"{what} {text[:40]!r} is out of range")
    return value


def _iso(value: float | None) -> str:
    if value is None:
        return ""
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()


def parse_csv(text: str, /) -> Iterator[CsvRow | tuple[int, str]]:
    """The rows of a suppression CSV: a :class:`CsvRow`, or ``(line, reason)`` for a row
    that cannot be read (a cell too long, a bad time).

    Raises:
        ConfigError: the text is larger than :data:`MAX_CSV_BYTES`, has more than
            :data:`MAX_CSV_ROWS` rows, is not CSV, or its header has no ``address``.
    """
    if len(text) > MAX_CSV_BYTES:
        raise ConfigError(f"suppression CSV larger than {MAX_CSV_BYTES} bytes")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    try:
        for n, cells in enumerate(reader):
            if n > MAX_CSV_ROWS:
                raise ConfigError(f"suppression CSV has more than {MAX_CSV_ROWS} rows")
            if not cells or not any(c.strip() for c in cells):
                continue
            if header is None:
                names = [c.strip().lower() for c in cells]
                if "address" in names:
                    header = names
                    continue
                if len(cells) != 1:
                    raise ConfigError("suppression CSV: the header row names no address column")
                header = ["address"]
            yield _row(reader.line_num, header, cells)
    except csv.Error as exc:
        raise ConfigError(f"suppression CSV, line {reader.line_num}: {exc}") from exc


def _row(line: int, header: list[str], cells: list[str]) -> CsvRow | tuple[int, str]:
    if any(len(c) > MAX_CELL_CHARS for c in cells):
        return line, f"a cell longer than {MAX_CELL_CHARS} characters"
    values = {
        name: _unescape(cell) for name, cell in zip(header, cells, strict=False) if name in COLUMNS
    }
    try:
        return CsvRow(
            line=line,
            address=values.get("address", "").strip(),
            scope=values.get("scope", "").strip().lower(),
            scope_value=values.get("scope_value", ""),
            reason=values.get("reason", "").strip().lower(),
            source=values.get("source"),
            created=_time(values.get("created", ""), "created"),
            expires=_time(values.get("expires", ""), "expires"),
        )
    except ValueError as exc:
        return line, str(exc)


def format_csv(entries: Iterable[Suppression], /, *, header: bool = True) -> Iterator[str]:
    """CSV text of ``entries``: the header line (unless ``header`` is False), then one
    line per entry."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
        yield out.getvalue()
    for entry in entries:
        out.seek(0)
        out.truncate()
        writer.writerow(
            [
                _escape(entry.address),
                str(entry.scope),
                _escape(entry.scope_value),
                str(entry.reason),
                _escape(entry.source),
                _iso(entry.created),
                _iso(entry.expires),
            ]
        )
        yield out.getvalue()


def row_error(exc: MailcheckError) -> str:
    """One line saying why a row was refused (never a traceback)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
