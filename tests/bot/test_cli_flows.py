"""The `intake-bot flows` commands: exit codes and `file:line:` output, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import BUNDLED_FLOWS
from flows.engine.loading.loader import load_flow_file
from flows.workbench.drawing import drawing_of, mermaid
from tests.flows.conftest import FlowText, mini_flow_text

runner = CliRunner()


@pytest.fixture
def flow_text() -> FlowText:
    """The small valid flow of tests/flows as text."""
    return mini_flow_text()


@pytest.fixture
def good_file(tmp_path: Path, flow_text: FlowText) -> Path:
    """The small valid flow written to a file."""
    path = tmp_path / "mini.yaml"
    path.write_text(flow_text.text, encoding="utf-8")
    return path


def test_validate_a_good_file(good_file: Path) -> None:
    """A valid flow prints an ok line (id, version, step count) and its coverage, and exits 0."""
    result = runner.invoke(app, ["flows", "validate", str(good_file)])
    assert result.exit_code == 0, result.output
    ok, coverage = result.stdout.splitlines()
    assert ok == f"ok: {good_file} (mini v1, 7 steps)"
    assert coverage.startswith("  en (default): ")


def test_validate_a_bad_file(tmp_path: Path, flow_text: FlowText) -> None:
    """A bad flow prints `file:line: problem` on stderr and exits 1, with no traceback."""
    bad = flow_text.replace("next: symptoms", "next: [symptoms")
    path = tmp_path / "bad.yaml"
    path.write_text(bad.text, encoding="utf-8")
    result = runner.invoke(app, ["flows", "validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:{bad.line_of('next: [symptoms') + 1}: YAML syntax:")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_reports_every_file(good_file: Path, tmp_path: Path) -> None:
    """Good files are confirmed and missing ones reported; any problem makes the exit 1."""
    missing = tmp_path / "absent.yaml"
    result = runner.invoke(app, ["flows", "validate", str(missing), str(good_file)])
    assert result.exit_code == 1
    assert f"ok: {good_file}" in result.stdout
    assert result.stderr == f"{missing}:1: cannot read the flow file: it does not exist\n"


def test_validate_finds_duplicate_versions(good_file: Path, tmp_path: Path) -> None:
    """Two files with one flow id and version are reported, naming both."""
    copy = tmp_path / "copy.yaml"
    copy.write_text(good_file.read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["flows", "validate", str(good_file), str(copy)])
    assert result.exit_code == 1
    assert f"{copy}:3: flow 'mini' version 1 is also defined in {good_file}" in result.stderr


def test_validate_defaults_to_the_flows_dir(
    good_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without files, every *.yaml of the configured flows directory is validated."""
    monkeypatch.setenv("INTAKE_FLOWS_DIR", str(good_file.parent))
    result = runner.invoke(app, ["flows", "validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"ok: {good_file} (mini v1, 7 steps)"


def test_bad_settings_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed setting is named, without a traceback, and exits 2."""
    monkeypatch.setenv("INTAKE_CLINICIAN_IDS", "alice")
    result = runner.invoke(app, ["flows", "validate"])
    assert result.exit_code == 2
    assert "INTAKE_CLINICIAN_IDS" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_option_is_a_usage_error(good_file: Path) -> None:
    """A usage mistake exits 2."""
    result = runner.invoke(app, ["flows", "validate", "--frobnicate", str(good_file)])
    assert result.exit_code == 2


def test_draw_a_mermaid_diagram(good_file: Path) -> None:
    """`flows draw` prints a Mermaid flowchart: sections as groups, conditions in words on
    the arrows, conditional steps dashed with their condition, the ends marked."""
    result = runner.invoke(app, ["flows", "draw", str(good_file)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("flowchart TD\n  %% mini v1\n  start((start)) --> s_consent\n")
    assert '  s_consent -->|"if consent = I do not agree"| s_declined\n' in out
    assert '  s_consent -->|"otherwise"| s_age\n' in out
    assert "  s_age --> s_symptoms\n" in out
    assert (
        '  s_severity["Pain<br/>severity · scale<br/>only if symptoms includes Belly pain'
        '<br/>⚑ same-day: severe_pain"]:::conditional\n'
    ) in out
    assert 's_declined(["You chose not to go on. Nothing was stored.<br/>declined · end"])' in out


def test_draw_shows_sections_and_the_escalation_end(tmp_path: Path, flow_text: FlowText) -> None:
    """Steps with a section are drawn inside it; an emergency flag is an exit from the step
    that decides it to the escalation end."""
    text = flow_text.replace("    label: Age\n", "    label: Age\n    section: about\n")
    text = text.replace("level: same_day", "level: emergency")
    path = tmp_path / "mini.yaml"
    path.write_text(text.text + "sections:\n  - {id: about, title: About you}\n")
    out = runner.invoke(app, ["flows", "draw", str(path)]).stdout
    assert '  subgraph sec_about["About you"]\n    s_age["Age<br/>age · number"]\n  end\n' in out
    assert '  s_severity -.->|"severe_pain"| escalation\n' in out
    assert "  escalation{{" in out


def test_draw_to_a_file(good_file: Path, tmp_path: Path) -> None:
    """`flows draw --out` writes the diagram to the file; `--format dot` writes Graphviz."""
    out = tmp_path / "mini.mmd"
    result = runner.invoke(app, ["flows", "draw", str(good_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "  s_age --> s_symptoms\n" in out.read_text(encoding="utf-8")
    result = runner.invoke(app, ["flows", "draw", str(good_file), "--format", "dot"])
    assert result.stdout.startswith('digraph "mini v1" {')
    assert '"s_consent" -> "s_declined" [label="if consent = I do not agree"];' in result.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_draw_svg_and_png_with_graphviz(good_file: Path, tmp_path: Path) -> None:
    """With Graphviz installed, `--format svg|png` renders the drawing."""
    svg, png = tmp_path / "mini.svg", tmp_path / "mini.png"
    for path, kind in ((svg, "svg"), (png, "png")):
        result = runner.invoke(
            app, ["flows", "draw", str(good_file), "-f", kind, "--out", str(path)]
        )
        assert result.exit_code == 0, result.output
    assert "<svg" in svg.read_text()
    assert "only if symptoms includes Belly pain" in svg.read_text()
    assert png.read_bytes().startswith(b"\x89PNG")


def test_draw_svg_without_graphviz_says_so(
    good_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without `dot` on the PATH: one clear line and exit 1, nothing written."""
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "mini.svg"
    result = runner.invoke(app, ["flows", "draw", str(good_file), "-f", "svg", "--out", str(out)])
    assert result.exit_code == 1
    assert "Graphviz's `dot` is not installed" in result.stderr
    assert not out.exists()


def test_draw_replaces_the_diagram_in_a_readme(good_file: Path, tmp_path: Path) -> None:
    """`--readme FILE` puts the Mermaid drawing between the flow's markers, nothing else."""
    readme = tmp_path / "README.md"
    readme.write_text(
        "# T\n<!-- flow diagram: mini -->\nold\n<!-- end of flow diagram -->\nafter\n"
    )
    result = runner.invoke(app, ["flows", "draw", str(good_file), "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    text = readme.read_text()
    assert text.startswith("# T\n<!-- flow diagram: mini -->\n```mermaid\nflowchart TD\n")
    assert text.endswith("```\n<!-- end of flow diagram -->\nafter\n")


def test_the_readme_shows_the_bundled_flow_as_it_is() -> None:
    """The README's diagram is the bundled flow's current drawing (regenerate it with
    `intake-bot flows draw flows/definitions/gut_health.yaml --readme README.md`)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    flow = load_flow_file(BUNDLED_FLOWS / "gut_health.yaml").flow
    block = f"<!-- flow diagram: gut_health -->\n```mermaid\n{mermaid(drawing_of(flow))}```\n"
    assert block in readme, "README.md: the flow diagram is out of date (see the docstring)"


def test_draw_a_bad_file(tmp_path: Path) -> None:
    """`flows draw` on a broken file reports its problems and exits 1."""
    path = tmp_path / "broken.yaml"
    path.write_text("id: [\n", encoding="utf-8")
    result = runner.invoke(app, ["flows", "draw", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:2: YAML syntax:")
    assert "Traceback" not in result.output


def test_show_lists_steps(good_file: Path) -> None:
    """`flows show` prints a row per step: kind, label, next, and when it is asked (a
    conditional step shows its condition in words)."""
    result = runner.invoke(app, ["flows", "show", str(good_file)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert list(rows) == ["consent", "age", "symptoms", "severity", "review", "done", "declined"]
    cells = [cell.strip() for cell in rows["age"].split("│")[2:6]]
    assert cells == ["number", "Age", "symptoms", "always"]
    assert "declined? | age" in rows["consent"]
    assert "only if symptoms includes Belly pain" in rows["severity"]


def test_schema_check_passes_for_the_committed_schema() -> None:
    """`flows schema --check` exits 0 when the committed schema matches the models."""
    result = runner.invoke(app, ["flows", "schema", "--check"])
    assert result.exit_code == 0, result.output


def test_bump_raises_the_version_line_in_place(good_file: Path, flow_text: FlowText) -> None:
    """`flows bump` changes only the `version:` line (comments and all else stay)."""
    result = runner.invoke(app, ["flows", "bump", str(good_file)])
    assert result.exit_code == 0, result.output
    line = flow_text.line_of("version: 1")
    assert result.stdout == f"{good_file}:{line}: version 1 -> 2\n"
    assert good_file.read_text() == flow_text.replace("version: 1", "version: 2").text
    result = runner.invoke(app, ["flows", "bump", str(good_file), "--to", "7"])
    assert result.exit_code == 0, result.output
    assert "version: 7\n" in good_file.read_text()


def test_bump_refuses_what_it_cannot_bump(tmp_path: Path, flow_text: FlowText) -> None:
    """No version line, a lower number, or a flow that would not load: exit 1, file kept."""
    path = tmp_path / "mini.yaml"
    path.write_text(flow_text.replace("version: 1\n", "").text)
    result = runner.invoke(app, ["flows", "bump", str(path)])
    assert (result.exit_code, result.stderr) == (
        1,
        f"{path}:1: no top-level `version: N` line to bump\n",
    )
    path.write_text(flow_text.text)
    result = runner.invoke(app, ["flows", "bump", str(path), "--to", "0"])
    assert result.exit_code == 1
    assert "must be above 1" in result.stderr
    assert path.read_text() == flow_text.text
