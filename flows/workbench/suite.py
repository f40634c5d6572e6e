"""Testing a flow file with the scenarios of its id: every run, checked, and the coverage.

`run_scenarios` plays each scenario of `<scenarios>/<flow id>/` on the flow (in memory), checks it
against its expectations, and measures what the scenarios reach. The flow given may be any file
with that id, so an edited copy is tested by the scenarios written for the flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flows.engine.conversation.turns import Conversation
from flows.engine.loading.loader import LoadedFlow
from flows.workbench.checks import check
from flows.workbench.coverage import Coverage, measure
from flows.workbench.player import play
from flows.workbench.runs import Run
from flows.workbench.scenario_files import ScenarioSet, load_scenarios


@dataclass(frozen=True)
class ScenarioReport:
    """The scenarios of one flow file, played and checked."""

    loaded: LoadedFlow
    found: ScenarioSet
    runs: list[Run]
    coverage: Coverage

    @property
    def failed(self) -> list[Run]:
        """The runs that diverged from their scenario."""
        return [run for run in self.runs if not run.passed]

    @property
    def passed(self) -> bool:
        """Whether every scenario was read and passed, and there was at least one."""
        return bool(self.runs) and not self.failed and not self.found.problems


def run_scenarios(
    loaded: LoadedFlow, scenarios: Path, only: set[str] | None = None
) -> ScenarioReport:
    """Play and check every scenario in `scenarios/<flow id>/` (or those named in `only`)."""
    found = load_scenarios(scenarios / loaded.flow.id)
    if only is not None:
        found.scenarios = [s for s in found.scenarios if s.name in only]
    conversation = Conversation(loaded.flow)
    runs = []
    for scenario in found.scenarios:
        run = play(conversation, scenario, found, loaded.file)
        check(run, loaded.flow)
        runs.append(run)
    return ScenarioReport(loaded, found, runs, measure(loaded.flow, runs))
