"""Flow versions as a stable record: a version is its number and the hash of its content.

An edited file that kept its version is refused (with the `version:` line and the command
to bump it) whether or not intakes are in progress, and never replaces the stored copy; a
session started on one version finishes on it after a newer one is active; a stored copy
from an older release gets the messages it lacks from the active flow; `reload` activates a
new valid version and refuses anything else, keeping the current one.

Each "start" builds the services afresh on the same database file, as a restarted bot would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.composition import Services, build_services
from flows import snapshots
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError
from flows.engine.loading.loader import load_flow_file, load_flow_text
from flows.registry import ACTIVATED, REFUSED, UNCHANGED
from storage.intakes import store_flow
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


def stored_sources(database_url: str, flow_file: Path) -> list[str]:
    """The stored source of every flow version (unsealed), read by a fresh start's database."""
    with started(flow_file, database_url) as services, services.database.transaction() as tx:
        unseal = services.database.sealer.unseal
        return [unseal(row.source) for row in tx.exec(select(FlowVersion))]


def refusal(flow_file: Path, database_url: str) -> str:
    """The one problem a start on `flow_file` is refused with."""
    with pytest.raises(FlowError) as error:
        build_services(make_settings(database_url), flow_file=flow_file)
    [problem] = error.value.problems
    return str(problem)


def test_an_edit_without_a_new_version_is_refused_while_in_use(
    flow_file: Path, database_url: str, flow_text: FlowText
) -> None:
    """Same version, different content, an intake in progress: one line naming the file's
    `version:` line and the command that bumps it."""
    with started(flow_file, database_url) as services:
        say(services.intake, 1, "I agree")
    edit(flow_file, AGE_PROMPT, "What is your age?")
    line = flow_text.line_of("version: 1")
    message = refusal(flow_file, database_url)
    assert message.startswith(f"{flow_file}:{line}: flow 'mini' version 1 is already stored ")
    assert message.endswith(f"run `intake-bot flows bump {flow_file}`")
    assert "\n" not in message


def test_an_edit_without_a_new_version_is_refused_when_unused(
    flow_file: Path, database_url: str, flow_text: FlowText
) -> None:
    """With no intake in progress the edit is refused all the same: the stored copy is the
    record completed intakes point to, and it is never replaced."""
    with started(flow_file, database_url) as services:
        say(services.intake, 1, "I agree")
        services.intake.patients.delete(user_id=1)  # the intake is withdrawn
    edit(flow_file, AGE_PROMPT, "What is your age?")
    assert "already stored with other content" in refusal(flow_file, database_url)
    edit(flow_file, "version: 1", "version: 2")
    assert sorted(stored_sources(database_url, flow_file)) == sorted(
        [flow_text.text, flow_file.read_text()]
    )


def test_an_edited_copy_never_stores_the_repository_flow_in_its_place(
    tmp_path: Path, database_url: str, flow_text: FlowText
) -> None:
    """Run an edited copy (same version) first: the repository's file is then refused, and
    the stored version 1 stays the copy the intakes ran on."""
    copy = tmp_path / "copy.yaml"
    copy.write_text(flow_text.replace(AGE_PROMPT, "What is your age?").text)
    with started(copy, database_url) as services:
        say(services.intake, 1, "I agree")
    original = tmp_path / "mini.yaml"
    original.write_text(flow_text.text)
    assert "already stored with other content" in refusal(original, database_url)
    assert stored_sources(database_url, copy) == [copy.read_text()]


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


def test_a_stored_copy_gets_the_messages_a_later_release_added(
    flow_file: Path, database_url: str, flow_text: FlowText
) -> None:
    """A version stored by an older release lacks newer `messages` keys: loading it fills
    them from the active flow of the same id, so its intakes can still be answered."""
    old_text = flow_text.replace('  choose_many: "Choose many "\n', "").text
    assert "choose_many:" not in old_text
    edit(flow_file, "version: 1", "version: 2")
    with started(flow_file, database_url) as services:
        with services.database.transaction() as tx:
            store_flow(
                tx,
                flow_id="mini",
                version=1,
                digest="older",
                source=old_text,
                sealer=services.database.sealer,
            )
        conversation = services.registry.get("mini", 1)
    active = load_flow_file(flow_file).flow
    assert conversation.flow.version == 1
    assert conversation.flow.messages.choose_many == active.messages.choose_many


def test_filling_messages_leaves_other_flows_and_present_keys_alone(flow_text: FlowText) -> None:
    """Only a copy of the same flow id gets messages, and only the keys it lacks."""
    current = load_flow_file_text(flow_text)
    stored = {"id": "mini", "messages": {"yes": "Oui"}}
    filled = snapshots.with_current_messages(stored, current)
    assert filled["messages"]["yes"] == "Oui"
    assert filled["messages"]["no"] == current.messages.no
    other = {"id": "other", "messages": {"yes": "Oui"}}
    assert snapshots.with_current_messages(other, current) is other


def load_flow_file_text(flow_text: FlowText) -> Flow:
    """The small flow as a `Flow`."""
    return load_flow_text(flow_text.text, file="mini.yaml").flow


def test_a_version_stored_by_another_process_meanwhile_is_accepted(
    flow_file: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process stores the same version between this one's read and its write: the
    insert conflicts, the row is read again, and the identical copy is accepted."""
    loaded = load_flow_file(flow_file)
    with started(flow_file, database_url) as services:  # the other process: stores version 1
        real, reads = snapshots.stored_flow, []

        def late_read(session: Session, *, flow_id: str, version: int) -> FlowVersion | None:
            reads.append(flow_id)
            return None if len(reads) == 1 else real(session, flow_id=flow_id, version=version)

        monkeypatch.setattr(snapshots, "stored_flow", late_read)
        snapshots.pin(services.database, loaded)
    assert len(reads) == 2


# --- reload ----------------------------------------------------------------------------------


def test_reload_activates_a_new_version_and_keeps_sessions_on_theirs(
    flow_file: Path, database_url: str
) -> None:
    """A new version in the file becomes active on reload; an intake in progress stays on
    the version it started on; nothing changed means unchanged."""
    with started(flow_file, database_url) as services:
        say(services.intake, 1, "I agree")
        assert services.registry.reload().result == UNCHANGED
        edit(flow_file, "version: 1", "version: 2")
        edit(flow_file, SYMPTOMS_PROMPT, "Which symptoms do you have?")
        reloaded = services.registry.reload()
        assert (reloaded.result, reloaded.version) == (ACTIVATED, 2)
        assert SYMPTOMS_PROMPT in say(services.intake, 1, "40").prompts[-1].text
        say(services.intake, 2, "I agree")
        assert "Which symptoms" in say(services.intake, 2, "40").prompts[-1].text


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (AGE_PROMPT, "What is your age?", "already stored with other content"),
        ("next: symptoms", "next: nowhere", "unknown step 'nowhere'"),
    ],
)
def test_reload_refuses_a_bad_file_and_keeps_serving(
    flow_file: Path, database_url: str, old: str, new: str, fragment: str
) -> None:
    """A changed file with the same version, or an invalid one, is refused with its
    problems; the current version stays active."""
    with started(flow_file, database_url) as services:
        edit(flow_file, old, new)
        refused = services.registry.reload()
        assert (refused.result, refused.version) == (REFUSED, 1)
        assert any(fragment in problem.message for problem in refused.problems)
        assert AGE_PROMPT in say(services.intake, 1, "I agree").prompts[-1].text
