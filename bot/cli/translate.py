"""The `intake-bot flows translate` command: a flow's texts to a translator's file and back.

`--export FILE --lang es` writes every text and screening list of the flow as CSV: the key, the
source language's text beside, the existing translation (if any) and a note. `--import FILE`
checks the file (problems as `file:line: what is wrong`, exit 1, nothing written) and writes
the translations into the flow file beside the source texts, then validates the flow as
`flows validate` does. Exit codes: 0 ok, 1 problems, 2 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.errors import startup_errors
from bot.cli.flow_files import print_problems
from bot.cli.flows import _out
from bot.settings import Settings
from flows.engine.format.problems import FlowError
from flows.engine.loading.loader import load_flow_text, read_flow_text
from flows.engine.translation.catalog import catalog
from flows.engine.translation.csv_file import read_csv, write_csv
from flows.engine.translation.importer import check, translations
from flows.engine.translation.yaml_writer import write_translations
from flows.engine.validation.coverage import coverage


def translate(
    export: Annotated[
        Path | None, typer.Option("--export", help="Write the flow's texts to this CSV file.")
    ] = None,
    import_: Annotated[
        Path | None, typer.Option("--import", help="Read translations from this CSV file.")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="The language to translate into (export).")
    ] = None,
    flow_file: Annotated[
        Path | None, typer.Option("--flow", help="The flow file (default: the active flow's).")
    ] = None,
    partial: Annotated[
        bool, typer.Option("--partial", help="Import what is filled in; skip empty rows.")
    ] = False,
) -> None:
    """Export a flow's texts for translators (CSV), or import their translations."""
    if (export is None) == (import_ is None):
        raise typer.BadParameter("give one of --export FILE or --import FILE")
    path = flow_file or _active_flow_file()
    text = _read(path)
    try:
        flow, _ = read_flow_text(text, file=str(path))
    except FlowError as error:
        print_problems(error.problems)
        raise typer.Exit(1) from None
    if export is not None:
        target = lang or next((code for code in flow.languages[1:]), None)
        if target is None:
            raise typer.BadParameter("say which language to translate into: --lang es")
        export.write_text(write_csv(catalog(flow), flow.default_language, target), "utf-8")
        _out().print(f"wrote {export} ({len(catalog(flow))} rows, {target})", markup=False)
        return
    assert import_ is not None
    _import(path, text, import_, partial)


def _import(path: Path, text: str, sheet_path: Path, partial: bool) -> None:
    """Check a translation file, write it into the flow, then validate the flow."""
    try:
        flow, _ = read_flow_text(text, file=str(path))
        sheet = read_csv(_read(sheet_path), file=str(sheet_path))
    except FlowError as error:
        print_problems(error.problems)
        raise typer.Exit(1) from None
    entries = catalog(flow)
    checked = check(sheet, entries, file=str(sheet_path), partial=partial)
    print_problems(checked.warnings)
    rows = {row.key: row.line for _, row in checked.rows}
    written, aliases = write_translations(
        text, sheet.target, translations(checked), rows=rows, file=str(sheet_path)
    )
    if checked.problems or aliases:
        print_problems([*checked.problems, *aliases])
        _out().print(f"nothing written to {path}", markup=False)
        raise typer.Exit(1)
    path.write_text(written, encoding="utf-8")
    skipped = f", {checked.empty} left empty" if checked.empty else ""
    _out().print(f"wrote {len(checked.rows)} {sheet.target} texts to {path}{skipped}")
    _validate(path, written, sheet.target)


def _validate(path: Path, text: str, language: str) -> None:
    """Validate the written flow; print its coverage and problems (exit 1 on any)."""
    try:
        load_flow_text(text, file=str(path))
    except FlowError as error:
        flow, _ = read_flow_text(text, file=str(path))
        for item in coverage(flow):
            _out().print(f"  {item.line()}", markup=False)
        print_problems(error.problems)
        raise typer.Exit(1) from None
    flow, _ = read_flow_text(text, file=str(path))
    for item in coverage(flow):
        _out().print(f"  {item.line()}", markup=False)
    _out().print(f"ok: {path} validates with {language}", markup=False)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"{path}: cannot read it ({type(error).__name__})", err=True)
        raise typer.Exit(1) from None


def _active_flow_file() -> Path:
    """The configured flow's file: `<flows dir>/<flow id>.yaml`."""
    with startup_errors():
        settings = Settings()
    return settings.flows_dir / f"{settings.flow}.yaml"
