"""The bundled flow's scenarios (flows/scenarios/gut_health/), played once per test run.

`bundled_report()` plays every scenario in memory; `typed_lines_of(name)` gives the lines a
patient types in the terminal chat to make the same moves as the scenario (the former
tests/transcripts/*.txt are scenarios whose answers are all typed, so their lines are exactly
the old transcripts).
"""

from __future__ import annotations

from functools import cache

from bot.settings import BUNDLED_FLOWS
from flows.engine.loading.loader import load_flow_file
from flows.workbench.replay import typed_lines
from flows.workbench.runs import Run
from flows.workbench.suite import ScenarioReport, run_scenarios

SCENARIO_ROOT = BUNDLED_FLOWS.parent / "scenarios"
BUNDLED_FILE = BUNDLED_FLOWS / "gut_health.yaml"


@cache
def bundled_report() -> ScenarioReport:
    """Every bundled scenario played on the bundled flow."""
    return run_scenarios(load_flow_file(BUNDLED_FILE), SCENARIO_ROOT)


def bundled_run(name: str) -> Run:
    """The run of one bundled scenario (by file name)."""
    return next(run for run in bundled_report().runs if run.loaded.name == name)


def typed_lines_of(name: str) -> list[str]:
    """The lines typed in the terminal chat to play scenario `name`."""
    return typed_lines(bundled_run(name).moves, bundled_report().loaded.flow)
