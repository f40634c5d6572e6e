"""`intake-bot stats` output forms: the tables, CSV lines, and the funnel chart as PNG or SVG."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.composition import build_services
from bot.terminal import TerminalChat
from flows.engine.loading.loader import load_flow_file
from tests.conftest import make_settings
from tests.flows.typed_patients import EMERGENCY, ROUTINE

runner = CliRunner()
BUNDLED = Path(__file__).resolve().parents[2] / "flows" / "definitions" / "gut_health.yaml"
BUNDLED_VERSION = load_flow_file(BUNDLED).flow.version


def seeded(tmp_path: Path) -> str:
    """A database with one completed and one emergency intake; its URL."""
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    services = build_services(make_settings(url))
    for user, lines in ((1, ROUTINE), (2, EMERGENCY)):
        TerminalChat(services.intake, out=io.StringIO(), user_id=user).run(lines)
    services.close()
    return url


def test_chart_writes_a_png_and_an_svg(tmp_path: Path) -> None:
    """--chart draws the funnel; the file type follows the name."""
    url = seeded(tmp_path)
    png, svg = tmp_path / "funnel.png", tmp_path / "funnel.svg"
    for path in (png, svg):
        result = runner.invoke(app, ["stats", "--db", url, "--chart", str(path)])
        assert result.exit_code == 0, result.output
        assert f"wrote {path}" in result.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert png.stat().st_size > 20_000
    svg_text = svg.read_text(encoding="utf-8")
    assert "<svg" in svg_text
    assert f"gut_health (v{BUNDLED_VERSION}): intake funnel" in svg_text
    assert "ended by an emergency" in svg_text


def test_chart_of_an_empty_database(tmp_path: Path) -> None:
    """With nothing counted yet the chart is still drawn (all bars empty)."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    path = tmp_path / "empty.png"
    result = runner.invoke(app, ["stats", "--db", url, "--chart", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_bytes().startswith(b"\x89PNG")


def test_a_chart_name_must_say_png_or_svg(tmp_path: Path) -> None:
    """Another file type is a usage error, before anything is read."""
    result = runner.invoke(app, ["stats", "--chart", str(tmp_path / "funnel.pdf")])
    assert result.exit_code == 2
    assert ".png or .svg" in result.output


def test_csv_gives_one_line_per_number(tmp_path: Path) -> None:
    """--csv: flow, version ("all" and each), step ("" for whole intakes), metric, value."""
    url = seeded(tmp_path)
    result = runner.invoke(app, ["stats", "--db", url, "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["flow", "version", "step", "metric", "value"]
    found = {(v, step, metric): value for _, v, step, metric, value in rows[1:]}
    assert found[("all", "", "started")] == "2"
    assert found[(str(BUNDLED_VERSION), "", "escalated_emergency")] == "1"
    assert found[("all", "urgent_now", "escalated")] == "1"
    assert found[("all", "age", "reached")] == "2"


def test_the_default_output_is_two_tables(tmp_path: Path) -> None:
    """Without --json or --csv: the intakes per version, then the steps."""
    url = seeded(tmp_path)
    result = runner.invoke(app, ["stats", "--db", url])
    assert result.exit_code == 0, result.output
    assert "gut_health: intakes" in result.stdout
    assert "steps, in flow order" in result.stdout


def test_a_bad_day_is_a_usage_error() -> None:
    """--since must be a day like 2026-11-01."""
    result = runner.invoke(app, ["stats", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "is not a day" in result.output
