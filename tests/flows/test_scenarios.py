"""Scenario tests (`flows.workbench`): the bundled flow passes its scenarios and they reach
every red flag, branch and conditional step; a run names the scenario file, line and step where
it diverged; mistakes in a scenario file are reported with file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows.engine.loading.loader import LoadedFlow, load_flow_text
from flows.workbench.coverage import RED_FLAG, measure
from flows.workbench.suite import ScenarioReport, run_scenarios
from tests.flows.bundled_scenarios import BUNDLED_FILE, SCENARIO_ROOT, bundled_report
from tests.flows.conftest import FlowText

CLI = Path(sys.executable).parent / "intake-bot"
HEADER = "# yaml-language-server: $schema=../../scenario.schema.json\n"


def test_the_bundled_flow_passes_every_bundled_scenario() -> None:
    """Every scenario in flows/scenarios/gut_health/ is read and passes."""
    report = bundled_report()
    assert report.found.problems == []
    assert len(report.runs) >= 40
    assert [run.loaded.name for run in report.failed] == []
    assert report.passed


def test_the_bundled_scenarios_reach_every_flag_branch_and_conditional_step() -> None:
    """Coverage: each red flag raised, modifier applied, `next` branch followed, and each
    `ask_when` step both asked and passed over, by some scenario. A red flag or branch added
    to the flow without a scenario reaching it fails here."""
    coverage = bundled_report().coverage
    assert [f"{t.kind} {t.name}" for t in coverage.missing] == []
    assert {t.kind for t in coverage.targets} >= {RED_FLAG, "branch", "modifier"}


def test_coverage_names_what_no_scenario_reaches() -> None:
    """Without the jaundice scenario, the jaundice flag is reported as not reached."""
    report = bundled_report()
    runs = [run for run in report.runs if run.loaded.name != "same_day_jaundice"]
    missing = measure(report.loaded.flow, runs).missing
    assert [(t.kind, t.name) for t in missing] == [(RED_FLAG, "jaundice")]


def test_flows_test_passes_on_the_bundled_flow() -> None:
    """CI: `intake-bot flows test` (every flow of the flows dir) exits 0."""
    result = subprocess.run(
        [str(CLI), "flows", "test"], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout
    assert "red flags 29/29" in result.stdout


def test_a_red_flag_lowered_in_a_copy_fails_its_scenario(tmp_path: Path) -> None:
    """A copy of the bundled flow with jaundice lowered to `soon` fails the scenario that
    raises it, naming its file, the line, the step and both levels; exit 1."""
    text = BUNDLED_FILE.read_text()
    old = "  - id: jaundice\n    level: same_day\n"
    assert text.count(old) == 1
    copy = tmp_path / "gut_health.yaml"
    copy.write_text(text.replace(old, "  - id: jaundice\n    level: soon\n"))
    result = subprocess.run(
        [str(CLI), "flows", "test", str(copy)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    scenario = SCENARIO_ROOT / "gut_health" / "same_day_jaundice.yaml"
    line = scenario.read_text().splitlines().index("  flags: {jaundice: same_day}") + 1
    shown = scenario.relative_to(Path.cwd()) if scenario.is_relative_to(Path.cwd()) else scenario
    assert f"FAIL  {shown}: " in result.stdout
    expected = f"{shown}:{line}: at step urgent_today: flag jaundice: expected same_day, got soon"
    assert expected in result.stdout
    assert " 1 failed" in result.stdout


# --- the runner on the small flow ------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty scenario folder for the small flow (`mini`)."""
    path = tmp_path / "scenarios" / "mini"
    path.mkdir(parents=True)
    (path / "_defaults.yaml").write_text(
        "consent: agree\nage: 40\nsymptoms: [bloating]\nseverity: 3\nreview: submit\n"
    )
    return path


def scenario(folder: Path, name: str, body: str) -> Path:
    """Write a scenario file."""
    path = folder / f"{name}.yaml"
    path.write_text(HEADER + body)
    return path


def run_mini(mini_flow: LoadedFlow, folder: Path) -> ScenarioReport:
    """Play the folder's scenarios on the small flow."""
    return run_scenarios(mini_flow, folder.parent)


def test_answers_by_value_label_typed_text_and_defaults(
    mini_flow: LoadedFlow, folder: Path
) -> None:
    """Options by value or label, multi-selects as lists, typed text; the rest from defaults."""
    scenario(
        folder,
        "pain",
        "title: Severe pain at 60 is same-day\n"
        "answers:\n"
        "  - consent: I agree\n"
        "  - age: 60\n"
        "  - symptoms: [Belly pain, bloating]\n"
        "  - severity: {type: '9'}\n"
        "expect:\n"
        "  end: done\n"
        "  flags: {severe_pain: same_day}\n"
        "  priority: same_day\n"
        "  asks: [severity]\n"
        "  shows: [{flag: severe_pain}, {prompt: done}, '{booking_url}', '{emergency_number}']\n",
    )
    [run] = run_mini(mini_flow, folder).runs
    assert run.failures == []
    assert [move.kind for move in run.moves] == [
        "press", "type", "toggle", "toggle", "done", "type", "press",
    ]  # fmt: skip
    assert run.raised["severe_pain"].step == "severity"


def test_a_run_names_the_step_where_it_diverged(mini_flow: LoadedFlow, folder: Path) -> None:
    """Expecting a step the flow passes over: the failure names the file, line and step."""
    path = scenario(
        folder,
        "no_pain",
        "title: Bloating only\n"
        "answers:\n"
        "  - symptoms: [bloating]\n"
        "  - severity: 5\n"
        "expect: {end: done}\n",
    )
    [run] = run_mini(mini_flow, folder).runs
    [failure] = run.failures
    assert failure.describe(run.loaded.file) == (
        f"{path}:5: at step done: the intake ended: expected to be asked severity, got done"
    )


def test_outcome_mismatches_are_reported(mini_flow: LoadedFlow, folder: Path) -> None:
    """Wrong end, flags, priority, texts and steps: one failure each, at the expect line."""
    path = scenario(
        folder,
        "wrong",
        "title: Everything expected wrongly\n"
        "answers:\n"
        "  - consent: decline\n"
        "expect:\n"
        "  end: done\n"
        "  flags: {severe_pain: soon}\n"
        "  priority: routine\n"
        "  asks: [age]\n"
        "  never_asks: [consent]\n"
        "  shows: [nothing like this]\n"
        "  never_shows: [{prompt: declined}, {message: no_such_message}]\n",
    )
    [run] = run_mini(mini_flow, folder).runs
    lines = [failure.describe(str(path)) for failure in run.failures]
    assert lines == [
        f"{path}:6: at step declined: end: expected done, got declined",
        f"{path}:7: at step declined: flag severe_pain: expected soon, got not raised",
        f"{path}:8: at step declined: priority: expected routine, got none",
        f"{path}:9: at step declined: step age: expected asked, got not asked",
        f"{path}:10: at step consent: step consent: expected never asked, got asked",
        f"{path}:11: at step declined: text: expected shown: 'nothing like this', got never shown",
        f"{path}:12: at step declined: text: expected never shown: prompt: declined, got shown",
        f"{path}:12: text reference: expected a text of mini, got message: no_such_message",
    ]


def test_back_and_a_change_on_the_review_screen(mini_flow: LoadedFlow, folder: Path) -> None:
    """`/back` goes back a question; `{change: step, to: answer}` changes one on review, and
    the flags are evaluated again (here the new age makes the pain a same-day flag)."""
    scenario(
        folder,
        "change",
        "title: Change the age on review\n"
        "answers:\n"
        "  - age: 30\n"
        "  - /back\n"
        "  - age: 31\n"
        "  - symptoms: [pain]\n"
        "  - severity: 10\n"
        "  - review: {change: age, to: 70}\n"
        "expect:\n"
        "  end: done\n"
        "  flags: {severe_pain: same_day}\n"
        "  shows: ['Age: 70 years']\n",
    )
    [run] = run_mini(mini_flow, folder).runs
    assert run.failures == []
    assert run.raised["severe_pain"].step == "age"


def test_no_answer_for_a_step_fails_there(mini_flow: LoadedFlow, folder: Path) -> None:
    """A step neither the scenario nor the defaults answer stops the run at that step."""
    (folder / "_defaults.yaml").write_text("consent: agree\n")
    path = scenario(
        folder, "gap", "title: Gap\nanswers:\n  - review: submit\nexpect: {end: done}\n"
    )
    [run] = run_mini(mini_flow, folder).runs
    [failure] = run.failures
    assert failure.describe(str(path)) == (
        f"{path}:4: at step age: no answer for this step: expected to be asked review "
        "(line 4), got age (no default)"
    )


def test_an_option_the_step_lacks(mini_flow: LoadedFlow, folder: Path) -> None:
    """Naming an option the step does not have fails with the options it has."""
    path = scenario(folder, "typo", "title: Typo\nanswers:\n  - consent: agre\nexpect: {}\n")
    [run] = run_mini(mini_flow, folder).runs
    [failure] = run.failures
    assert failure.describe(str(path)) == (
        f"{path}:4: at step consent: option: expected one of: agree, decline, got agre"
    )


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("title: T\nanswers: []\nexpect: {}\n", 3, "answers: needs at least 1 item(s)"),
        ("title: T\nanswers: [/jump]\nexpect: {}\n", 3, "answers.0: unknown command '/jump'"),
        ("title: T\nanswers: [x]\nexpect: {ends: done}\n", 4, "expect: unknown key 'ends'"),
        ("title: T\nanswers: [x]\nexpect: {priority: high}\n", 4, "expect.priority: input should"),
        ("title: T\nanswers:\n  - {Age: 3}\nexpect: {}\n", 4, "is not an id"),
        ("title: [T\n", 3, "YAML syntax"),
    ],
)
def test_scenario_file_mistakes_have_file_and_line(
    mini_flow: LoadedFlow, folder: Path, body: str, line: int, message: str
) -> None:
    """A mistake in a scenario file is a problem with its file and line, not a crash."""
    path = scenario(folder, "bad", body)
    report = run_mini(mini_flow, folder)
    assert report.runs == []
    assert not report.passed
    [problem] = [
        p for p in report.found.problems if message in p.message.lower() or message in p.message
    ]
    assert (problem.file, problem.line) == (str(path), line)


def test_an_edited_copy_is_tested_by_the_scenarios_of_its_id(
    folder: Path, flow_text: FlowText
) -> None:
    """The scenarios are found by flow id, whatever the flow file is called."""
    edited = flow_text.replace("gte: 9", "gte: 10")
    scenario(
        folder,
        "nine",
        "title: Nine is severe\nanswers:\n  - age: 60\n  - symptoms: [pain]\n"
        "  - severity: 9\nexpect: {flags: {severe_pain: same_day}}\n",
    )
    assert run_mini(load_flow_text(flow_text.text, file="a.yaml"), folder).passed
    report = run_mini(load_flow_text(edited.text, file="copy.yaml"), folder)
    assert [f.what for run in report.runs for f in run.failures] == ["flag severe_pain"]
