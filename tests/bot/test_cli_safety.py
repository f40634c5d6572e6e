"""Tests of `intake-bot safety report` through typer's CliRunner on the bundled flow."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from tests.safety.stories import SUITE as STORIES

ROOT = Path(__file__).resolve().parents[2]
FLOW = ROOT / "flows" / "definitions" / "gut_health.yaml"


def report(vignettes: Path) -> tuple[int, str]:
    """Run the report on `vignettes` against the bundled flow; exit code and output."""
    args = ["safety", "report", "--vignettes", str(vignettes), "--flow", str(FLOW)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_the_bundled_vignettes_pass_with_a_table_by_level() -> None:
    """The report prints every level with its sensitivity and exits 0 when all runs pass."""
    code, output = report(STORIES)
    assert code == 0
    for level in ("emergency", "same_day", "soon", "routine"):
        assert level in output
    assert "over-triage 0%" in output
    assert "diagnosis leaks: 0" in output


def test_a_missed_story_fails_the_report(tmp_path: Path) -> None:
    """A story that stays below its level is listed as missed and the exit code is 1."""
    shutil.copy(STORIES / "_defaults.yaml", tmp_path / "_defaults.yaml")
    (tmp_path / "x.yaml").write_text(
        "id: calm_but_expected_urgent\nlevel: emergency\nstory: nothing urgent is said\n",
        encoding="utf-8",
    )
    code, output = report(tmp_path)
    assert code == 1
    assert "missed: calm_but_expected_urgent expected emergency, got routine" in output
    assert "0%" in output
