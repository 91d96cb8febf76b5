"""Customers from a CRM's CSV export: every row checked first, then upserted in batches.

``read_csv`` checks a whole file without touching the database and reports every bad row with
its physical line number, so the CLI can print ``FILE:line: message`` for all of them at once.
``find_conflicts`` adds the rows whose email address belongs to another customer in the
database (read only). ``import_rows`` then upserts by external id, ``BATCH_SIZE`` rows per
transaction, and is idempotent: a second run of the same file creates and changes nothing.

The batch upsert itself, ``store.upsert_many``, is shared with the operator API's batch endpoint.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping, Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from preferences import store
from preferences.attributes import Attribute
from preferences.customers import CustomerData, parse_customer
from preferences.database import for_writes
from preferences.errors import Conflicts, InvalidCustomer, PreferencesError
from preferences.models import Channel, Customer
from preferences.optin.requests import DEFAULT_TTL, queue_for_new_pending

REQUIRED_COLUMNS = ("external_id", "email")
OPTIONAL_COLUMNS = ("first_name", "locale", "status")
BATCH_SIZE = 1000
_DELIMITERS = (",", ";", "\t")
_LOOKUP_CHUNK = 500


# Errors ----------------------------------------------------------------------------------------

class ImportFileError(PreferencesError):
    """The file as a whole cannot be read (encoding, header); ``problems`` are (line, message)."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"line {line}: {message}" for line, message in self.problems))


# Reading ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One good row: its physical line in the file (where the record starts) and its data."""

    line: int
    data: CustomerData


@dataclass(frozen=True)
class RowError:
    """One bad row: its line and every bad column with a message."""

    line: int
    errors: Mapping[str, str]

    def messages(self) -> list[str]:
        """One ``column: message`` per bad column."""
        return [f"{column}: {message}" if column else message for column, message in self.errors.items()]


@dataclass
class CheckedFile:
    """A file read and checked: the good rows, the bad ones, and which attributes it carries."""

    columns: tuple[str, ...]
    attribute_columns: frozenset[str]
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.errors)

    def drop(self, bad: Iterable[RowError]) -> None:
        """Move the rows named by ``bad`` (by line) from the good rows to the errors."""
        bad = list(bad)
        lines = {error.line for error in bad}
        self.rows = [row for row in self.rows if row.line not in lines]
        self.errors = sorted([*self.errors, *bad], key=lambda error: error.line)


def read_csv(path: Path, *, schema: Mapping[str, Attribute], locales: Collection[str]) -> CheckedFile:
    """The file at ``path`` checked row by row. Raises ImportFileError or OSError."""
    return parse_csv(Path(path).read_bytes(), schema=schema, locales=locales)


def parse_csv(raw: bytes, *, schema: Mapping[str, Attribute], locales: Collection[str]) -> CheckedFile:
    """CSV bytes (UTF-8, with or without BOM; comma, semicolon or tab separated, as the header
    line shows) checked row by row. Raises ImportFileError for a file that cannot be read."""
    text = _decode(raw)
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in German locales export with semicolons; the header line tells which.
    delimiter = max(_DELIMITERS, key=first_line.count) if any(d in first_line for d in _DELIMITERS) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        checked = _check_header(header, schema)
        seen_ids: dict[str, list[int]] = {}
        seen_emails: dict[str, list[int]] = {}
        previous_end = reader.line_num
        for record in reader:
            line = previous_end + 1  # where the record starts: a quoted field may span lines
            previous_end = reader.line_num
            if not any(value.strip() for value in record):
                continue  # blank lines, or a row of empty cells
            if len(record) != len(checked.columns):
                checked.errors.append(RowError(line, {"": f"expected {len(checked.columns)} fields like "
                                                          f"the header, found {len(record)}"}))
                continue
            try:
                data = parse_customer(_raw_customer(checked, record), schema=schema, locales=locales)
            except InvalidCustomer as error:
                checked.errors.append(RowError(line, _column_errors(error.errors)))
                continue
            seen_ids.setdefault(data.external_id, []).append(line)
            seen_emails.setdefault(data.email.lower(), []).append(line)
            checked.rows.append(Row(line, data))
    except csv.Error as error:
        raise ImportFileError([(reader.line_num or 1, f"not readable as CSV: {error}")]) from None
    checked.drop(_duplicates(checked.rows, seen_ids, seen_emails))
    return checked


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ImportFileError([(line, f"not UTF-8 (byte 0x{raw[error.start]:02x} in column {column}): "
                                      "save the file as UTF-8")]) from None


def _check_header(header: list[str] | None, schema: Mapping[str, Attribute]) -> CheckedFile:
    if header is None or not any(name.strip() for name in header):
        raise ImportFileError([(1, "the file is empty: its first line must name the columns, "
                                   f"e.g. {','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}")])
    columns = tuple(name.strip() for name in header)
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + tuple(schema)
    problems = []
    unknown = [name for name in columns if name and name not in known]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)} (known: {', '.join(known)})")
    nameless = [str(index) for index, name in enumerate(columns, 1) if not name]
    if nameless:
        problems.append(f"column(s) {', '.join(nameless)} have no name")
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    if repeated:
        problems.append(f"column(s) named twice: {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if problems:
        raise ImportFileError([(1, problem) for problem in problems])
    return CheckedFile(columns, frozenset(name for name in columns if name in schema))


def _raw_customer(checked: CheckedFile, record: list[str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for name, value in zip(checked.columns, record):
        if name in checked.attribute_columns:
            attributes[name] = value
        else:
            raw[name] = value
    if checked.attribute_columns:
        raw["attributes"] = attributes
    return raw


def _column_errors(errors: Mapping[str, str]) -> dict[str, str]:
    # parse_customer names attribute errors "attributes.<name>"; in a CSV that is the column.
    return {name.removeprefix("attributes."): message for name, message in errors.items()}


def _duplicates(rows: list[Row], ids: dict[str, list[int]], emails: dict[str, list[int]]) -> list[RowError]:
    errors: dict[int, dict[str, str]] = {}
    for column, seen in (("external_id", ids), ("email", emails)):
        for lines in seen.values():
            if len(lines) > 1:
                for line in lines:
                    others = ", ".join(str(other) for other in lines if other != line)
                    errors.setdefault(line, {})[column] = f"the same {column.replace('_', ' ')} is also on line {others}"
    return [RowError(line, fields) for line, fields in sorted(errors.items())]


# Checking against the database -----------------------------------------------------------------

def find_conflicts(session: Session, rows: Sequence[Row]) -> list[RowError]:
    """The rows whose email address already belongs to a customer with another external id.

    Read only: run it before importing, so that a file with such rows imports nothing at all.
    """
    by_email: dict[str, list[Row]] = {}
    for row in rows:
        by_email.setdefault(row.data.email.lower(), []).append(row)
    errors = []
    emails = list(by_email)
    for start in range(0, len(emails), _LOOKUP_CHUNK):
        chunk = emails[start:start + _LOOKUP_CHUNK]
        # lower() in the database: the same function as the unique index on the email column.
        statement = select(Customer.external_id, Customer.email).where(
            func.lower(Customer.email).in_([func.lower(email) for email in chunk]))
        for external_id, email in session.execute(statement):
            for row in by_email.get(email.lower(), ()):
                if row.data.external_id != external_id:
                    errors.append(RowError(row.line, {"email": f"already belongs to customer {external_id}"}))
    return sorted(errors, key=lambda error: error.line)


# Writing ---------------------------------------------------------------------------------------

@dataclass
class Counts:
    """What an import did (or, in a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    seconds: float = 0.0
    kept: Counter = field(default_factory=Counter)  # field name -> rows whose value was kept
    created_ids: list[str] = field(default_factory=list)  # external ids of the customers created
    confirmations: int = 0  # of them pending, with a confirmation queued in the outbox

    def add(self, upserted: store.Upserted) -> None:
        for outcome in upserted.outcomes:
            setattr(self, outcome, getattr(self, outcome) + 1)
        for fields in upserted.kept.values():
            self.kept.update(fields.keys())


def import_rows(
    engine: Engine, checked: CheckedFile, *, default_locale: str, dry_run: bool = False,
    batch_size: int = BATCH_SIZE, on_progress: Callable[[int], None] | None = None,
    overwrite_preferences: bool = False, confirm_ttl: timedelta = DEFAULT_TTL,
) -> Counts:
    """Upsert the good rows of ``checked`` by external id, ``batch_size`` per transaction, with
    consent events on the import channel. A dry run does the same work and rolls every batch
    back, so its counts are exactly what a real run would do.

    Attribute columns the file does not have are kept on existing customers; an empty cell
    removes that attribute. A language the customer chose on the preference page is kept unless
    ``overwrite_preferences`` (``Counts.kept`` counts what was kept). A customer created pending
    gets a confirmation queued in the outbox in its batch's transaction. Raises Conflicts (with ``lines`` set) when a concurrent change made
    a row conflict; the batches before it are committed.
    """
    counts = Counts(skipped=len(checked.errors))
    started = time.perf_counter()
    writer = for_writes(engine)
    for start in range(0, len(checked.rows), batch_size):
        batch = checked.rows[start:start + batch_size]
        with Session(writer) as session:
            try:
                upserted = store.upsert_many(session, [row.data for row in batch], Channel.IMPORT,
                                             default_locale=default_locale,
                                             attribute_names=checked.attribute_columns,
                                             overwrite_preferences=overwrite_preferences)
            except Conflicts as conflicts:
                session.rollback()
                conflicts.lines = {batch[index].line: fields for index, fields in conflicts.errors.items()}
                raise
            created = [row.data.external_id for row, outcome in zip(batch, upserted.outcomes)
                       if outcome == store.CREATED]
            queued = queue_for_new_pending(session.connection(), created, Channel.IMPORT, confirm_ttl)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        counts.add(upserted)
        counts.created_ids += created
        counts.confirmations += len(queued)
        if on_progress is not None:
            on_progress(len(batch))
    counts.seconds = time.perf_counter() - started
    return counts
