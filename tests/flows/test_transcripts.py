"""Transcripts as data: every `tests/transcripts/*.txt` replayed in-process through the terminal
chat and through the real `intake-bot chat` command, checked against `expectations.yaml`; and a
session interrupted and resumed by a new process.

The CLI runs are started together (one process per transcript) to keep the suite fast.
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
from ruamel.yaml import YAML
from sqlmodel import SQLModel, col, select

from bot.composition import Services, build_services
from bot.settings import BUNDLED_FLOWS
from bot.terminal import TERMINAL_USER_ID, TerminalChat
from flows.engine.loading.loader import LoadedFlow, load_flow_file
from storage.database import Database
from storage.tables import Answer, IntakeSession, Patient, ReviewItem
from tests.conftest import BOOKING_URL, EMERGENCY_NUMBER, make_settings

FOLDER = Path(__file__).parent.parent / "transcripts"
EXPECTATIONS: dict[str, dict[str, Any]] = YAML(typ="safe").load(FOLDER / "expectations.yaml")
NAMES = sorted(path.name for path in FOLDER.glob("*.txt"))
CLI = Path(sys.executable).parent / "intake-bot"
ROUTINE = (FOLDER / "routine.txt").read_text().splitlines(keepends=True)
RESUME_CUT = 14  # routine.txt lines before the interruption (mid symptoms)


def rows(database: Database, table: type[SQLModel]) -> list[Any]:
    """Every row of a table."""
    with database.transaction() as tx:
        return list(tx.exec(select(table)))


def stored(database: Database, user: int) -> tuple[Patient | None, list[Any], list[Any], list[Any]]:
    """A patient's row, intake sessions, answers and review items."""
    with database.transaction() as tx:
        patient = tx.exec(select(Patient).where(Patient.telegram_user_id == user)).first()
        if patient is None:
            return None, [], [], []
        sessions = list(
            tx.exec(select(IntakeSession).where(IntakeSession.patient_id == patient.id))
        )
        ids = [s.id for s in sessions]
        answers = list(tx.exec(select(Answer).where(col(Answer.session_id).in_(ids))))
        items = list(tx.exec(select(ReviewItem).where(col(ReviewItem.session_id).in_(ids))))
        return patient, sessions, answers, items


@pytest.fixture(scope="module")
def progress(bundled_flow: LoadedFlow) -> str:
    """What every progress line starts with ("Question ")."""
    return bundled_flow.flow.message("progress").split("{")[0]


def check(
    output: str, database: Database, user: int, expected: dict[str, Any], progress: str
) -> None:
    """The printed conversation and the database match a transcript's expectations."""
    patient, sessions, answers, items = stored(database, user)
    if expected["status"] is None:
        assert patient is None
    else:
        assert [s.status for s in sessions] == [expected["status"]]
        assert {answer.step_id for answer in answers} >= {"consent", "age"}
    priorities = [item.priority for item in items]
    assert priorities == ([expected["priority"]] if expected["priority"] else [])
    link = BOOKING_URL.format(intake_id=sessions[0].id if sessions else "")

    def fill(fragment: str) -> str:
        return fragment.replace("{booking_link}", link).replace(
            "{emergency_number}", EMERGENCY_NUMBER
        )

    last = output.rstrip(" ").split("\n\n")[-2]  # each prompt ends with a blank line
    for fragment in expected.get("last_message", []):
        assert fill(fragment) in last + "\n"
    if "escalation" in expected:
        _before, after = re.split(r"^!! ", output, maxsplit=1, flags=re.MULTILINE)
        message = after.split("\n", 1)[0]
        for fragment in expected["escalation"]:
            assert fill(fragment) in message
        asked = rf"^\[{re.escape(progress)}|^  \d+\. "  # a progress line or numbered options
        assert not re.search(asked, after, flags=re.MULTILINE)


def test_every_transcript_has_expectations() -> None:
    """A transcript without an expectations entry (or the reverse) is a mistake."""
    assert NAMES
    assert set(NAMES) == set(EXPECTATIONS)


@pytest.fixture(scope="module")
def shared(
    tmp_path_factory: pytest.TempPathFactory, bundled_flow: LoadedFlow
) -> Iterator[Services]:
    """One set of services for the in-process replays (each replay is another patient)."""
    folder = tmp_path_factory.mktemp("in_process")
    url = f"sqlite:///{folder / 'intake.db'}"
    services = build_services(make_settings(url), active=bundled_flow)
    yield services
    services.close()


@pytest.mark.parametrize(("user", "name"), list(enumerate(NAMES, start=100)))
def test_transcript_in_process(user: int, name: str, shared: Services, progress: str) -> None:
    """Replayed through the intake service and the terminal chat, in this process."""
    out = StringIO()
    lines = (FOLDER / name).read_text().splitlines(keepends=True)
    TerminalChat(shared.intake, out=out, user_id=user).run(lines, echo=True)
    check(out.getvalue(), shared.database, user, EXPECTATIONS[name], progress)


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


def start_cli(folder: Path, stdin: str, flow: Path) -> tuple[subprocess.Popen[str], str]:
    """Start `intake-bot chat` on a database in `folder` and `flow`, with `stdin` piped in."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'intake.db'}"
    process = subprocess.Popen(
        [str(CLI), "chat", "--flow", str(flow), "--db", url],
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


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CliRun]]:
    """Every transcript, and the first half of the resume test, run through the CLI at once."""
    base = tmp_path_factory.mktemp("cli")
    flow = base / "gut_health.yaml"  # a snapshot: the bundled file may be edited meanwhile
    flow.write_text((BUNDLED_FLOWS / "gut_health.yaml").read_text())
    inputs = {name: (FOLDER / name).read_text() for name in NAMES}
    inputs["resume"] = "".join(ROUTINE[:RESUME_CUT])
    started = {name: start_cli(base / name, text, flow) for name, text in inputs.items()}
    return {name: finish(process, url) for name, (process, url) in started.items()}


@pytest.mark.parametrize("name", NAMES)
def test_transcript_through_the_cli(name: str, cli_runs: dict[str, CliRun], progress: str) -> None:
    """Piped into `intake-bot chat --db ...`: exits 0 at end of input, as expected."""
    run = cli_runs[name]
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    database = Database(run.url)
    try:
        check(run.stdout, database, TERMINAL_USER_ID, EXPECTATIONS[name], progress)
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
        step, answers = session.current_step, {a.step_id for a in rows(database, Answer)}
        assert session.status == "active"
        assert len(answers) >= 8
        folder = Path(first.url.split("///", 1)[1]).parent
        flow = folder.parent / "gut_health.yaml"
        second = finish(*start_cli(folder, "".join(ROUTINE[RESUME_CUT:]), flow))
        assert second.returncode == 0, second.stderr
        reopened = second.stdout.split("\n> ", 1)[0]  # what the new process says first
        assert first_line_of(flow, step) in reopened
        [done] = rows(database, IntakeSession)
        assert done.id == session.id
        assert done.status == "completed"
        assert answers <= {a.step_id for a in rows(database, Answer)}
        assert "Main concern: I get bloated after most meals" in second.stdout
    finally:
        database.dispose()


def first_line_of(flow_file: Path, step_id: str) -> str:
    """The first line of a step's prompt in a flow file."""
    flow = load_flow_file(flow_file).flow
    return flow.text(flow.steps[step_id].prompt).splitlines()[0]
