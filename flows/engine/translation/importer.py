"""Checking a translation file against a flow, and writing its texts into the flow's YAML.

`check` reports, with the translation file's line: unknown and repeated keys, texts left empty,
placeholders the source has and the translation lacks (or adds), malformed lexicon lines, and
two keys that are one text in the YAML (an anchor and its aliases) translated differently.
`apply` then writes every translation beside the source language in the flow file itself,
through ruamel.yaml's round-trip mode so comments, anchors, quotes and order stay as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flows.engine.format.problems import Problem
from flows.engine.translation.catalog import Entry, Kind, parse_list, parse_variants
from flows.engine.translation.csv_file import Row, Sheet
from flows.engine.validation.texts import placeholder_problem

_LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class Checked:
    """The outcome of checking a file: problems, warnings, and the rows fit to write."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: list[tuple[Entry, Row]] = field(default_factory=list)
    empty: int = 0  # rows left empty (allowed with `partial`)


def check(sheet: Sheet, entries: list[Entry], *, file: str, partial: bool = False) -> Checked:
    """Everything wrong with a translation file for a flow with these `entries`."""
    out = Checked()
    if not _LANGUAGE.match(sheet.target) or sheet.target == sheet.source:
        message = f"'{sheet.target}' is not a language code to translate into (like es, pt-BR)"
        out.problems.append(Problem(file, 1, message))
        return out
    by_key = {entry.key: entry for entry in entries}
    seen: dict[str, int] = {}
    for row in sheet.rows:
        entry = by_key.get(row.key)
        if entry is None:
            out.problems.append(Problem(file, row.line, f"unknown key '{row.key}'"))
        elif row.key in seen:
            message = f"{row.key}: appears again (first on line {seen[row.key]})"
            out.problems.append(Problem(file, row.line, message))
        else:
            seen[row.key] = row.line
            _check_row(out, entry, row, sheet, file, partial)
    if not partial:
        for entry in entries:
            if entry.key not in seen:
                message = f"{entry.key}: no row for it (use --partial to import part of a flow)"
                out.problems.append(Problem(file, 1, message))
    return out


def _check_row(
    out: Checked, entry: Entry, row: Row, sheet: Sheet, file: str, partial: bool
) -> None:
    where = f"{entry.key}: the {sheet.target} text"
    if not row.text.strip():
        if partial:
            out.empty += 1
        else:
            out.problems.append(Problem(file, row.line, f"{where} is empty"))
        return
    found = list(_row_problems(entry, row, sheet.source))
    out.problems += [Problem(file, row.line, f"{where} {message}") for message in found]
    source = entry.values.get(sheet.source)
    if source is not None and _same_text(source, row.source) is False:
        message = f"{entry.key}: the {sheet.source} text has changed since this file was made"
        out.warnings.append(Problem(file, row.line, message))
    if not found:
        out.rows.append((entry, row))


def _row_problems(entry: Entry, row: Row, source_language: str) -> Iterator[str]:
    if entry.kind is Kind.VARIANTS:
        parsed = parse_variants(row.text)
        if isinstance(parsed, str):
            yield f"has a line that is not 'word: other, forms': '{parsed}'"
        return
    if entry.kind is Kind.LIST:
        return
    source = entry.values.get(source_language, "")
    wanted, given = set(_PLACEHOLDER.findall(source)), set(_PLACEHOLDER.findall(row.text))
    for name in sorted(wanted - given):
        yield f"lacks the placeholder {{{name}}}"
    problem = placeholder_problem(row.text, frozenset(wanted))
    if problem is not None and not wanted - given:
        yield f"has an {problem}" if problem.startswith("unknown") else f"has {problem}"
    if "|" in source and "|" not in row.text:
        yield "needs both forms, one|more ('1 día|{n} días')"


def _same_text(a: str, b: str) -> bool | None:
    """Whether two source texts agree (None when the file left the source column empty)."""
    if not b.strip():
        return None
    return " ".join(a.split()) == " ".join(b.split())


def translations(checked: Checked) -> Iterator[tuple[Entry, object]]:
    """Each fit row's entry and its value as the flow stores it (a text, list or mapping)."""
    for entry, row in checked.rows:
        if entry.kind is Kind.TEXT:
            yield entry, row.text.strip()
        elif entry.kind is Kind.LIST:
            yield entry, parse_list(row.text)
        else:
            yield entry, parse_variants(row.text)
