"""A second language end to end: validation per language, coverage, and the translator's file.

`flows translate --export` writes every text and screening list with a stable key and the
source text beside; `--import` checks the file (unknown keys, missing placeholders, empty
texts: with the file's line) and writes the translations beside the source texts in the flow.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from typer.testing import CliRunner

from bot.cli import app
from flows.engine.format.problems import FlowError
from flows.engine.loading.loader import load_flow_text, read_flow_text
from flows.engine.translation.catalog import catalog
from flows.engine.translation.csv_file import read_csv, write_csv
from flows.engine.translation.importer import check, translations
from flows.engine.translation.yaml_writer import round_trip, write_translations
from flows.engine.validation.coverage import coverage

BUNDLED = Path(__file__).resolve().parents[2] / "flows" / "definitions" / "gut_health.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def bundled_text() -> str:
    """The bundled flow's YAML."""
    return BUNDLED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def english_only(bundled_text: str) -> str:
    """The bundled flow with its Spanish taken out (texts, screening data and language)."""
    return without_language(bundled_text, "es")


def without_language(text: str, language: str) -> str:
    """A flow's YAML with one language removed everywhere."""
    yaml = round_trip()
    document = yaml.load(text)
    document["languages"].remove(language)

    def walk(node: object) -> None:
        if isinstance(node, CommentedMap):
            node.pop(language, None)
            for value in node.values():
                walk(value)
        elif isinstance(node, CommentedSeq):
            for value in node:
                walk(value)

    walk(document)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def problems(text: str) -> list[str]:
    """The validation problems of a flow text, as messages."""
    try:
        load_flow_text(text, file="flow.yaml")
    except FlowError as error:
        return [p.message for p in error.problems]
    return []


# --- validation per language -----------------------------------------------------------------


def test_the_bundled_flow_is_complete_in_spanish(bundled_text: str) -> None:
    """Every text has its Spanish, and Spanish free text is screened (coverage says so)."""
    flow, _ = read_flow_text(bundled_text, file="flow.yaml")
    english, spanish = coverage(flow)
    assert flow.languages == ["en", "es"]
    assert spanish.translated == spanish.total == english.total
    assert spanish.phrases > 200
    assert spanish.unsure > 100
    assert spanish.negations >= 10
    assert spanish.questions > 50
    assert spanish.lexicon > 300
    assert spanish.line().startswith(f"es: {spanish.total}/{spanish.total} texts; screening: ")


def test_a_missing_translation_fails_validation(english_only: str) -> None:
    """Listing a language whose texts are not written is a problem for each text."""
    text = english_only.replace("languages: [en]", "languages: [en, es]", 1)
    found = problems(text)
    assert "steps.age.prompt: missing translation 'es'" in found
    assert "messages.help: missing translation 'es'" in found


def test_a_language_without_screening_fails_validation(bundled_text: str) -> None:
    """Spanish texts without Spanish red-flag phrases or negations are refused."""
    yaml = round_trip()
    document = yaml.load(bundled_text)
    del document["screening"]["red_flags"][0]["phrases"]["es"]
    del document["screening"]["negations"]["es"]
    out = io.StringIO()
    yaml.dump(document, out)

    found = problems(out.getvalue())
    assert "screening.red_flags.0.phrases: no phrases for language 'es' (fact vomit_blood)" in found
    assert "screening.negations: nothing for language 'es'" in found


def test_an_empty_translation_fails_validation(bundled_text: str) -> None:
    """A text left empty in one language is a problem, not a silent blank message."""
    text = bundled_text.replace('es: "Edad"', 'es: " "', 1)
    assert "steps.age.label: the 'es' text is empty" in problems(text)


@pytest.mark.parametrize(
    ("spanish", "rule"),
    [
        ("Puede que tenga celiaquía.", 2),
        ("Sus síntomas sugieren SIBO.", 2),
        ("Deje de tomar ibuprofeno.", 7),
        ("No se preocupe, no es nada grave.", 9),
        ("Según sus síntomas, necesita una prueba de heces.", 5),
        ("Su riesgo es alto.", 4),
        ("Esta prueba diagnostica el intestino permeable.", 6),
    ],
)
def test_the_wording_lint_reads_spanish(bundled_text: str, spanish: str, rule: int) -> None:
    """Diagnostic, advice, routing, score and reassuring words are caught in Spanish too."""
    old = 'es: "Gracias. ¿Qué edad tiene?'
    text = bundled_text.replace(old, f'es: "{spanish} ¿Qué edad tiene?', 1)
    assert any(f"wording (rule {rule})" in message for message in problems(text))


# --- the translator's file -----------------------------------------------------------------------


def test_export_lists_every_text_with_its_source(bundled_text: str) -> None:
    """One row per text and screening list: a stable key, the English, the Spanish, a note."""
    flow, _ = read_flow_text(bundled_text, file="flow.yaml")
    rows = list(csv.reader(io.StringIO(write_csv(catalog(flow), "en", "es"))))
    by_key = {row[0]: row for row in rows[1:]}

    assert rows[0] == ["key", "en", "es", "note"]
    assert by_key["steps.age.prompt"][1].startswith("Thank you. How old are you?")
    assert by_key["steps.consent.answer.options.agree.label"][1:3] == ["I agree", "Acepto"]
    assert by_key["red_flags.vomit_blood.message"][3] == "keep {emergency_number}"
    assert by_key["workup.stool_panel.reason"][3] == "clinician-facing"
    assert "vomito sangre" in by_key["screening.red_flags.vomit_blood.phrases"][2].splitlines()
    assert by_key["screening.lexicon.variants"][2].startswith("vomito: vomitos, vomitar")
    assert len(rows) - 1 == len(catalog(flow))


def test_import_writes_the_translations_beside_the_source(
    bundled_text: str, english_only: str
) -> None:
    """The exported Spanish imported into the English-only flow gives the bundled flow back."""
    flow, _ = read_flow_text(bundled_text, file="flow.yaml")
    sheet = read_csv(write_csv(catalog(flow), "en", "es"), file="es.csv")
    english_flow, _ = read_flow_text(english_only, file="flow.yaml")
    checked = check(sheet, catalog(english_flow), file="es.csv")
    assert checked.problems == []

    written, aliases = write_translations(
        english_only, "es", translations(checked), rows={}, file="es.csv"
    )
    assert aliases == []
    assert load_flow_text(written, file="flow.yaml").flow == flow
    assert 'es: "Edad"' in written  # beside the English, in the same file
    assert "message: &emergency\n" in written  # anchors kept; aliases share the Spanish


def test_importing_an_unchanged_file_changes_nothing(bundled_text: str) -> None:
    """Export then import leaves the flow file byte for byte as it was (comments included)."""
    flow, _ = read_flow_text(bundled_text, file="flow.yaml")
    sheet = read_csv(write_csv(catalog(flow), "en", "es"), file="es.csv")
    checked = check(sheet, catalog(flow), file="es.csv")

    written, _ = write_translations(bundled_text, "es", translations(checked), rows={}, file="x")
    assert written == bundled_text


@pytest.fixture
def flow_file(tmp_path: Path, english_only: str) -> Path:
    """The English-only flow, as a file to import into."""
    path = tmp_path / "gut_health.yaml"
    path.write_text(english_only, encoding="utf-8")
    return path


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """The bundled flow's Spanish translation file."""
    path = tmp_path / "es.csv"
    result = runner.invoke(
        app, ["flows", "translate", "--flow", str(BUNDLED), "--export", str(path), "--lang", "es"]
    )
    assert result.exit_code == 0, result.output
    return path


def edit_rows(path: Path, changes: dict[str, str]) -> dict[str, int]:
    """Set the translation of some keys; the line each changed row starts on."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        if row[0] in changes:
            row[2] = changes[row[0]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    sheet = read_csv(out.getvalue(), file=str(path))
    return {row.key: row.line for row in sheet.rows}


def translate_import(flow_file: Path, sheet: Path, *extra: str) -> object:
    """Run `flows translate --import`."""
    args = ["flows", "translate", "--flow", str(flow_file), "--import", str(sheet), *extra]
    return runner.invoke(app, args)


def test_cli_import_then_validate(flow_file: Path, exported: Path) -> None:
    """The command writes the Spanish into the flow file and validates it with es."""
    result = translate_import(flow_file, exported)

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert f"ok: {flow_file} validates with es" in result.stdout  # type: ignore[attr-defined]
    assert "languages: [en, es]" in flow_file.read_text(encoding="utf-8")


def test_cli_import_reports_problems_with_their_line(flow_file: Path, exported: Path) -> None:
    """Missing placeholders, empty texts and unknown keys are named with the file's line."""
    before = flow_file.read_text(encoding="utf-8")
    lines = edit_rows(
        exported,
        {
            "red_flags.vomit_blood.message": "Llame ahora a urgencias.",
            "steps.age.label": "",
            "messages.duration_days": "{n} días",
        },
    )
    with exported.open("a", encoding="utf-8") as file:
        file.write("steps.agee.prompt,How old?,¿Qué edad?,\n")

    result = translate_import(flow_file, exported)
    err = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]
    message = "red_flags.vomit_blood.message: the es text lacks the placeholder {emergency_number}"
    assert f"{exported}:{lines['red_flags.vomit_blood.message']}: {message}" in err
    assert f"{exported}:{lines['steps.age.label']}: steps.age.label: the es text is empty" in err
    assert f"{exported}:{lines['messages.duration_days']}: messages.duration_days: " in err
    assert (
        f"{exported}:{len(exported.read_text().splitlines())}: unknown key 'steps.agee.prompt'"
        in err
    )
    assert flow_file.read_text(encoding="utf-8") == before  # nothing written


def test_cli_partial_import_skips_empty_rows(flow_file: Path, exported: Path) -> None:
    """With --partial, empty rows are left untranslated and the flow says what is missing."""
    edit_rows(exported, {"steps.age.label": ""})

    result = translate_import(flow_file, exported, "--partial")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "1 left empty" in result.stdout  # type: ignore[attr-defined]
    assert "steps.age.label: missing translation 'es'" in result.stderr  # type: ignore[attr-defined]
    done, total = re.search(r"es: (\d+)/(\d+) texts", result.stdout).groups()  # type: ignore[union-attr, attr-defined]
    assert int(done) == int(total) - 1
