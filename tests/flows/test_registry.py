"""Flow versions: an edited file with the same version is refused while an intake is in
progress on it, and a session started on one version finishes on it after a newer one is active.

Each "start" builds the services afresh on the same database file, as a restarted bot would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import select

from bot.composition import Services, build_services
from flows.engine.format.problems import FlowError
from storage.tables import FlowVersion, IntakeSession
from tests.conftest import make_settings, say
from tests.flows.conftest import FlowText

AGE_PROMPT = "How old are you?"
SYMPTOMS_PROMPT = "Which of these do you notice?"


@contextmanager
def started(flow_file: Path, database_url: str) -> Iterator[Services]:
    """The services of one bot start on `flow_file`."""
    services = build_services(make_settings(database_url), flow_file=flow_file)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def flow_file(tmp_path: Path, flow_text: FlowText) -> Path:
    """The small flow (version 1) as a file an operator edits."""
    path = tmp_path / "mini.yaml"
    path.write_text(flow_text.text)
    return path


def edit(path: Path, old: str, new: str) -> None:
    """Replace one piece of text in a flow file."""
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_an_edit_without_a_new_version_is_refused_while_in_use(
    flow_file: Path, database_url: str
) -> None:
    """Same version, different content, an intake in progress: a FlowError naming the file."""
    with started(flow_file, database_url) as services:
        say(services.intake, 1, "I agree")
    edit(flow_file, AGE_PROMPT, "What is your age?")
    with pytest.raises(FlowError) as error:
        build_services(make_settings(database_url), flow_file=flow_file)
    [problem] = error.value.problems
    assert problem.file == str(flow_file)
    assert "version" in problem.message


def test_an_edit_without_a_new_version_is_accepted_when_unused(
    flow_file: Path, database_url: str
) -> None:
    """With no intake in progress on it, the edited file replaces the stored copy."""
    with started(flow_file, database_url) as services:
        say(services.intake, 1, "I agree")
        services.intake.patients.delete(user_id=1)  # the intake is withdrawn
    edit(flow_file, AGE_PROMPT, "What is your age?")
    with started(flow_file, database_url) as services:
        turn = say(services.intake, 2, "I agree")
        assert "What is your age?" in turn.prompts[-1].text
        with services.database.transaction() as tx:
            [stored] = tx.exec(select(FlowVersion)).all()
        assert "What is your age?" in stored.source


def test_a_session_finishes_on_the_version_it_started_on(
    flow_file: Path, database_url: str
) -> None:
    """After version 2 becomes active, an intake started on version 1 goes on with version 1's
    steps and texts, while a new intake starts on version 2."""
    with started(flow_file, database_url) as services:
        say(services.intake, 1, "I agree")
    edit(flow_file, "version: 1", "version: 2")
    edit(flow_file, SYMPTOMS_PROMPT, "Which symptoms do you have?")
    with started(flow_file, database_url) as services:
        old = say(services.intake, 1, "40")
        assert SYMPTOMS_PROMPT in old.prompts[-1].text
        say(services.intake, 2, "I agree")
        new = say(services.intake, 2, "40")
        assert "Which symptoms do you have?" in new.prompts[-1].text
        say(services.intake, 1, "bloating")
        last = say(services.intake, 1, "submit")
        assert last.ended
        with services.database.transaction() as tx:
            versions = {s.id: (s.flow_version, s.status) for s in tx.exec(select(IntakeSession))}
    assert versions == {old.session_id: (1, "completed"), new.session_id: (2, "active")}
