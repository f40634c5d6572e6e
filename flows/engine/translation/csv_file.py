"""The translator's file: CSV with a key, the source text beside, the translation, and a note.

Spreadsheet programs and translation tools open it as it is. The header names the languages
(`key,en,es,note`); a cell may hold several lines (screening lists hold one phrase a line).
Reading keeps the line each row starts on, so problems point into the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from flows.engine.format.problems import FlowError, Problem
from flows.engine.translation.catalog import Entry

KEY, NOTE = "key", "note"


@dataclass(frozen=True, slots=True)
class Row:
    """One translated row of a file: its key, the translation, and the line it starts on."""

    key: str
    source: str
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Sheet:
    """A read translation file: its languages and rows."""

    source: str
    target: str
    rows: list[Row]


def write_csv(entries: Sequence[Entry], source: str, target: str) -> str:
    """The CSV text of `entries`: key, source text, existing translation (if any), note."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([KEY, source, target, NOTE])
    for entry in entries:
        writer.writerow(
            [entry.key, entry.values.get(source, ""), entry.values.get(target, ""), entry.note]
        )
    return out.getvalue()


def read_csv(text: str, *, file: str) -> Sheet:
    """The rows of a translation file; a malformed header raises `FlowError`."""
    lines = io.StringIO(text.removeprefix("\ufeff"))  # spreadsheets add a byte-order mark
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or len(header) < 3 or header[0].strip() != KEY:
        message = f"the first line must be the header '{KEY},<source language>,<language>,{NOTE}'"
        raise FlowError([Problem(file, 1, message)])
    source, target = header[1].strip(), header[2].strip()
    rows: list[Row] = []
    start = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            cells = [*record, "", ""]
            rows.append(Row(cells[0].strip(), cells[1], cells[2], start))
        start = reader.line_num + 1
    return Sheet(source, target, rows)
