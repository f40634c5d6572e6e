"""The bundled scenarios replayed as a patient types them into the terminal chat: every one
in process through the real intake service, and the former transcripts through the real
`intake-bot chat` command with the lines piped in; each must reach the outcome of its
in-memory run (status, review priority, red flags at their levels) in the database. The
terminal never says "tap". And a session interrupted and resumed by a new process.

The CLI runs are started together (one process per scenario) to keep the suite fast.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, col, select

from bot.composition import Services, build_services
from bot.settings import BUNDLED_FLOWS
from bot.terminal import TERMINAL_USER_ID, TerminalChat
from flows.engine.loading.loader import LoadedFlow, load_flow_file
from flows.workbench.runs import ESCALATED, IN_PROGRESS, Run
from storage.database import Database
from storage.queue import priority_of
from storage.tables import IntakeSession, Patient, ReviewItem
from tests.conftest import BOOKING_URL, EMERGENCY_NUMBER, make_settings
from tests.flows.bundled_scenarios import bundled_report, bundled_run, typed_lines_of

NAMES = [run.loaded.name for run in bundled_report().runs]
TRANSCRIPTS = [  # the former tests/transcripts/*.txt, every answer typed
    "routine",
    "same_day_jaundice",
    "back_and_change",
    "emergency_vomit_blood",
    "emergency_free_text",
    "declined",
]
CLI = Path(sys.executable).parent / "intake-bot"
RESUME_CUT = 14  # typed lines of `routine` before the interruption (mid symptoms)
TAP = re.compile(r"\b(tap|taps|tapped|tapping|buttons?)\b", re.IGNORECASE)


def rows(database: Database, table: type[SQLModel]) -> list[Any]:
    """Every row of a table."""
    with database.transaction() as tx:
        return list(tx.exec(select(table)))


def answered(database: Database, session: IntakeSession) -> set[str]:
    """The steps a stored session has answers for."""
    return set(database.sealer.unseal_json(session.state)["answers"])


def stored(database: Database, user: int) -> tuple[Patient | None, list[Any], set[str], list[Any]]:
    """A patient's row, intake sessions, the steps answered and review items."""
    hashes = database.sealer.lookup_hashes(user)
    with database.transaction() as tx:
        patient = tx.exec(select(Patient).where(col(Patient.telegram_id_hash).in_(hashes))).first()
        if patient is None:
            return None, [], set(), []
        sessions = list(
            tx.exec(select(IntakeSession).where(IntakeSession.patient_id == patient.id))
        )
        ids = [s.id for s in sessions]
        items = list(tx.exec(select(ReviewItem).where(col(ReviewItem.session_id).in_(ids))))
    steps = set().union(*(answered(database, session) for session in sessions))
    return patient, sessions, steps, items


def expected_status(run: Run) -> str | None:
    """The stored status the run's end means (None: nothing stored)."""
    if run.status == "declined":
        return None
    return {ESCALATED: "escalated", IN_PROGRESS: "active"}.get(run.end, run.status)


def check(output: str, database: Database, user: int, run: Run) -> None:
    """The printed conversation and the database reach the in-memory run's outcome."""
    patient, sessions, _answers, items = stored(database, user)
    status = expected_status(run)
    if status is None:
        assert patient is None
    else:
        assert [s.status for s in sessions] == [status]
    assert [priority_of(item) for item in items] == (
        [run.priority] if run.priority != "none" else []
    )
    if items:
        stored_flags = database.sealer.unseal_json(items[0].red_flags)
        flags = {flag["id"]: flag["level"] for flag in stored_flags}
        assert flags == {flag: raised.level for flag, raised in run.raised.items()}
    link = BOOKING_URL.format(intake_id=sessions[0].id if sessions else "")
    for ref in run.loaded.scenario.expect.shows:
        if isinstance(ref, str):
            filled = ref.replace("{booking_url}", link)
            assert filled.replace("{emergency_number}", EMERGENCY_NUMBER) in output
    if run.end == ESCALATED:  # after the escalation nothing more is asked
        after = re.split(r"^!! ", output, flags=re.MULTILINE)[-1]
        assert not re.search(r"^\[|^  \d+\. ", after, flags=re.MULTILINE)
    assert TAP.findall(output.replace("belly button", "")) == []


def test_the_former_transcripts_are_bundled_scenarios() -> None:
    """Each former transcript is a scenario, and its typed lines still start with consent."""
    assert set(TRANSCRIPTS) <= set(NAMES)
    assert typed_lines_of("routine")[:2] == ["I agree", "34"]


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, bundled_flow: LoadedFlow
) -> Iterator[Services]:
    """One set of terminal services for the in-process replays (each replay another patient)."""
    folder = tmp_path_factory.mktemp("in_process")
    url = f"sqlite:///{folder / 'intake.db'}"
    services = build_services(make_settings(url), active=bundled_flow, typed=True)
    yield services
    services.close()


@pytest.mark.parametrize(("user", "name"), list(enumerate(NAMES, start=100)))
def test_scenario_typed_in_process(user: int, name: str, shared: Services) -> None:
    """Typed into the terminal chat over the real service, in this process."""
    out = StringIO()
    TerminalChat(shared.intake, out=out, user_id=user).run(typed_lines_of(name), echo=True)
    check(out.getvalue(), shared.database, user, bundled_run(name))


@dataclass
class CliRun:
    """One finished `intake-bot chat` process and its database."""

    returncode: int
    stdout: str
    stderr: str
    url: str


def cli_env(tmp: Path) -> dict[str, str]:
    """The environment of a CLI run: no INTAKE_* from outside, the test link and number."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env |= {"INTAKE_BOOKING_URL": BOOKING_URL, "INTAKE_EMERGENCY_NUMBER": EMERGENCY_NUMBER}
    env["INTAKE_DATABASE_URL"] = f"sqlite:///{tmp / 'unused.db'}"
    return env


def start_cli(
    folder: Path, stdin: str, flow: Path, *extra: str
) -> tuple[subprocess.Popen[str], str]:
    """Start `intake-bot chat` on a database in `folder` and `flow`, with `stdin` piped in."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'intake.db'}"
    process = subprocess.Popen(
        [str(CLI), "chat", "--flow", str(flow), "--db", url, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
        env=cli_env(folder),
    )
    assert process.stdin is not None
    process.stdin.write(stdin)
    process.stdin.close()
    return process, url


def finish(process: subprocess.Popen[str], url: str) -> CliRun:
    """Wait for a CLI run and collect its output."""
    assert process.stdout is not None
    assert process.stderr is not None
    stdout, stderr = process.stdout.read(), process.stderr.read()
    process.wait(timeout=120)
    return CliRun(process.returncode, stdout, stderr, url)


def piped(lines: list[str]) -> str:
    """Lines as a piped stdin."""
    return "".join(f"{line}\n" for line in lines)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    """The former transcripts, a `--scenario` run, and the first half of the resume test, run
    through the CLI at once."""
    base = tmp_path_factory.mktemp("cli")
    flow = base / "gut_health.yaml"  # a snapshot: the bundled file may be edited meanwhile
    flow.write_text((BUNDLED_FLOWS / "gut_health.yaml").read_text())
    started = {
        name: start_cli(base / name, piped(typed_lines_of(name)), flow) for name in TRANSCRIPTS
    }
    started["resume"] = start_cli(
        base / "resume", piped(typed_lines_of("routine")[:RESUME_CUT]), flow
    )
    scenario = BUNDLED_FLOWS.parent / "scenarios" / "gut_health" / "same_day_black_stool.yaml"
    started["--scenario"] = start_cli(base / "option", "", flow, "--scenario", str(scenario))
    return {name: finish(process, url) for name, (process, url) in started.items()}


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_transcript_through_the_cli(name: str, cli_runs: dict[str, CliRun]) -> None:
    """Piped into `intake-bot chat --db ...`: exits 0 at end of input, as the run says."""
    run = cli_runs[name]
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    database = Database(run.url)
    try:
        check(run.stdout, database, TERMINAL_USER_ID, bundled_run(name))
    finally:
        database.dispose()


def test_chat_types_a_scenario_first(cli_runs: dict[str, CliRun]) -> None:
    """`intake-bot chat --scenario FILE` types the scenario's answers, then reads stdin."""
    run = cli_runs["--scenario"]
    assert run.returncode == 0, run.stderr
    assert "\n> 1\n" in run.stdout  # consent, by its number
    database = Database(run.url)
    try:
        check(run.stdout, database, TERMINAL_USER_ID, bundled_run("same_day_black_stool"))
    finally:
        database.dispose()


def test_a_new_process_resumes_at_the_same_step(cli_runs: dict[str, CliRun]) -> None:
    """Interrupted after part of an intake, a new process continues at the same step, with
    every earlier answer, and completes it."""
    first = cli_runs["resume"]
    assert first.returncode == 0, first.stderr
    database = Database(first.url)
    try:
        [session] = rows(database, IntakeSession)
        step = database.sealer.unseal_json(session.state)["step"]
        answers = answered(database, session)
        assert session.status == "active"
        assert len(answers) >= 8
        folder = Path(first.url.split("///", 1)[1]).parent
        flow = folder.parent / "gut_health.yaml"
        rest = piped(typed_lines_of("routine")[RESUME_CUT:])
        second = finish(*start_cli(folder, rest, flow))
        assert second.returncode == 0, second.stderr
        reopened = second.stdout.split("\n> ", 1)[0]  # what the new process says first
        assert first_line_of(flow, step) in reopened
        [done] = rows(database, IntakeSession)
        assert done.id == session.id
        assert done.status == "completed"
        assert answers <= answered(database, done)
        assert "Main concern: I get bloated after most meals" in second.stdout
    finally:
        database.dispose()


def first_line_of(flow_file: Path, step_id: str) -> str:
    """The first line of a step's prompt in a flow file."""
    flow = load_flow_file(flow_file).flow
    return flow.text(flow.steps[step_id].prompt).splitlines()[0]
