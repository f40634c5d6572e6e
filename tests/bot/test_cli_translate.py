"""`intake-bot flows translate` on a small flow: export, fill in, import, and what is refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from flows.engine.loading.loader import load_flow_file
from tests.flows.conftest import mini_flow_text

runner = CliRunner()


def test_export_fill_import_gives_a_flow_in_two_languages(tmp_path: Path) -> None:
    """Every exported row filled in and imported: the flow lists the language and validates."""
    flow_file = tmp_path / "mini.yaml"
    flow_file.write_text(mini_flow_text().text, encoding="utf-8")
    sheet = tmp_path / "de.csv"
    export = ["flows", "translate", "--flow", str(flow_file), "--export", str(sheet)]
    result = runner.invoke(app, [*export, "--lang", "de"])
    assert result.exit_code == 0, result.output

    rows = list(csv.reader(io.StringIO(sheet.read_text(encoding="utf-8"))))
    assert rows[0] == ["key", "en", "de", "note"]
    assert ["steps.age.prompt", "How old are you?", "", ""] in rows
    for row in rows[1:]:
        row[2] = f"(de) {row[1]}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    sheet.write_text(out.getvalue(), encoding="utf-8")

    result = runner.invoke(
        app, ["flows", "translate", "--flow", str(flow_file), "--import", str(sheet)]
    )
    assert result.exit_code == 0, result.output
    flow = load_flow_file(flow_file).flow
    assert flow.languages == ["en", "de"]
    assert flow.text(flow.steps["age"].prompt, "de") == "(de) How old are you?"
    assert "de (" not in result.stdout
    assert "  de: " in result.stdout


def test_a_header_without_languages_is_refused(tmp_path: Path) -> None:
    """A file that is not a translation file is named, with its first line."""
    flow_file = tmp_path / "mini.yaml"
    flow_file.write_text(mini_flow_text().text, encoding="utf-8")
    sheet = tmp_path / "x.csv"
    sheet.write_text("a,b\n1,2\n", encoding="utf-8")

    result = runner.invoke(
        app, ["flows", "translate", "--flow", str(flow_file), "--import", str(sheet)]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{sheet}:1: the first line must be the header")


def test_export_or_import_is_required() -> None:
    """Neither option given is a usage error (exit 2)."""
    assert runner.invoke(app, ["flows", "translate"]).exit_code == 2
