"""The terminal chat: numbered options, commands, piped input, a clean end; the real service
behind it on a SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.composition import build_services
from bot.terminal import TerminalChat
from flows.engine.loading.loader import LoadedFlow
from flows.intake.service import IntakeService
from storage.tables import IntakeSession
from tests.conftest import EMERGENCY_NUMBER, make_settings


@pytest.fixture
def terminal_service(tmp_path: Path, bundled_flow: LoadedFlow) -> Iterator[IntakeService]:
    """The intake service on a fresh SQLite file (the shared composition root)."""
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    services = build_services(make_settings(url), active=bundled_flow, typed=True)
    yield services.intake
    services.close()


def chat(service: IntakeService, *lines: str) -> str:
    """Pipe `lines` into a terminal chat; everything it printed."""
    out = StringIO()
    TerminalChat(service, out=out).run([f"{line}\n" for line in lines], echo=True)
    return out.getvalue()


def sessions(service: IntakeService) -> list[IntakeSession]:
    """Every stored intake session."""
    with service.database.transaction() as tx:
        return list(tx.exec(select(IntakeSession)))


def opened(service: IntakeService, session: IntakeSession) -> dict[str, Any]:
    """A session's sealed state, opened."""
    found: dict[str, Any] = service.database.sealer.unseal_json(session.state)
    return found


def step(service: IntakeService, session: IntakeSession) -> str:
    """The step a stored session is at."""
    return str(opened(service, session)["step"])


def answers(service: IntakeService) -> dict[str, Any]:
    """Every stored answer, by step."""
    found: dict[str, Any] = {}
    for session in sessions(service):
        found.update(opened(service, session)["answers"])
    return found


def test_opening_shows_progress_and_numbered_options(terminal_service: IntakeService) -> None:
    """With no input the chat asks for consent: a progress line and numbered options."""
    printed = chat(terminal_service)
    assert printed.startswith("[" + terminal_service.message("progress").format(n=1, total=""))
    assert re.search(r"^  1\. I agree$", printed, flags=re.MULTILINE)
    assert re.search(r"^  2\. ", printed, flags=re.MULTILINE)
    assert sessions(terminal_service) == []


def test_options_are_answered_by_number_or_label(terminal_service: IntakeService) -> None:
    """'1' picks the first option; a label picks its option."""
    chat(terminal_service, "1", "40", "female")
    assert answers(terminal_service) == {"consent": "agree", "age": 40, "sex_at_birth": "female"}


def test_multi_select_by_comma_separated_numbers(terminal_service: IntakeService) -> None:
    """Multi-select takes numbers separated by commas, shown with check boxes."""
    printed = chat(terminal_service, "I agree", "40", "male", "11", "never", "no", "1, 7")
    assert "[ ] " in printed
    assert answers(terminal_service)["urgent_today"] == ["black_stool", "jaundice"]


def test_scale_is_shown_on_one_line(terminal_service: IntakeService) -> None:
    """A 0-10 scale prints its buttons on one line."""
    lines = ["I agree", "34", "Female", "No", "11", "never", "no", "9", "9", "bloated", "6 months"]
    printed = chat(terminal_service, *lines, "1")
    assert "  0 · 1 · 2 · 3 · 4 · 5 · 6 · 7 · 8 · 9 · 10\n" in printed


def test_back_and_help_ask_the_question_again(terminal_service: IntakeService) -> None:
    """/back returns to the previous question; /help explains and asks the same one again."""
    printed = chat(terminal_service, "I agree", "40", "/back", "/help")
    assert terminal_service.message("help") in printed
    [session] = sessions(terminal_service)
    assert step(terminal_service, session) == "age"
    assert "age" not in answers(terminal_service)


def test_restart_starts_a_new_intake(terminal_service: IntakeService) -> None:
    """/restart cancels the intake in progress and asks for consent again."""
    printed = chat(terminal_service, "I agree", "40", "/restart", "I agree")
    assert terminal_service.message("restarted") in printed
    assert [s.status for s in sessions(terminal_service)] == ["cancelled", "active"]


def test_quit_stops_reading(terminal_service: IntakeService) -> None:
    """Nothing after /quit is read."""
    chat(terminal_service, "I agree", "/quit", "40")
    [session] = sessions(terminal_service)
    assert step(terminal_service, session) == "age"


def test_the_escalation_is_marked_and_nothing_is_asked_after(
    terminal_service: IntakeService,
) -> None:
    """An emergency prints '!! ' and the message with the number; no question follows."""
    printed = chat(terminal_service, "I agree", "58", "Male", "1")
    after = printed.split("\n!! ", 1)[1]
    assert EMERGENCY_NUMBER in after.splitlines()[0]
    assert not re.search(r"^  \d+\. |^\[", after, flags=re.MULTILINE)
    assert [s.status for s in sessions(terminal_service)] == ["escalated"]


def test_skip_works_on_an_optional_question_only(terminal_service: IntakeService) -> None:
    """/skip passes an optional question; on a required one it changes nothing."""
    chat(terminal_service, "I agree", "/skip")
    assert step(terminal_service, sessions(terminal_service)[0]) == "age"
    chat(terminal_service, "40", "/skip")
    [session] = sessions(terminal_service)
    assert step(terminal_service, session) != "sex_at_birth"
    assert "sex_at_birth" not in answers(terminal_service)


TAP = re.compile(r"\b(tap|taps|tapped|tapping|buttons?)\b", re.IGNORECASE)


def test_the_terminal_says_type_and_choose_never_tap(terminal_service: IntakeService) -> None:
    """Every way to answer wrongly, and every multi-select: the terminal says how to type."""
    printed = chat(
        terminal_service,
        *("perhaps", "I agree", "34", "Female", "No"),  # consent: not an option
        *("xyz", "1, 11", "None of these"),  # urgent_now: no option; "none" with another
        *("never", "perhaps", "no", "none of these", "None of these"),  # blood thinner: yes/no
        *("Bloated after meals", "6 months", "1", "12", "6"),  # bloating: a scale out of range
    )
    assert TAP.findall(printed.replace("belly button", "")) == []
    flow = terminal_service.registry.active_conversation().flow
    for key in ("invalid_choice", "invalid_multi", "invalid_multi_none", "invalid_yes_no"):
        assert flow.message(key) in printed
    assert flow.message("invalid_scale") in printed
    assert "Type the numbers of all that apply" in printed


def test_the_button_channel_keeps_its_words(bundled_flow: LoadedFlow) -> None:
    """The same flow for a channel with buttons (Telegram) says "tap"."""
    assert "Tap all that apply" in bundled_flow.flow.message("choose_many")
    typed = bundled_flow.flow.typed_variant()
    assert typed.message("choose_many").startswith("Type the numbers")
    assert typed.message("yes") == bundled_flow.flow.message("yes")  # not replaced


def test_lang_opens_the_intake_in_that_language(terminal_service: IntakeService) -> None:
    """`chat --lang es-MX`: the consent question, progress line and options are in Spanish."""
    out = StringIO()
    TerminalChat(terminal_service, out=out, language="es-MX").run(["Acepto\n"], echo=True)
    printed = out.getvalue()

    assert printed.startswith("[Pregunta 1 de unas")
    assert "  1. Acepto\n  2. No, gracias\n" in printed
    assert "Gracias. ¿Qué edad tiene?" in printed


def test_language_command_switches_and_keeps_answers(terminal_service: IntakeService) -> None:
    """/language lists the languages by number; a number switches; /language en goes back."""
    printed = chat(terminal_service, "I agree", "45", "/language", "2", "/language en")

    assert "Which language would you like to use?" in printed
    assert "  1. English\n  2. Español\n" in printed
    assert "De acuerdo, seguimos en español." in printed
    assert "¿Qué sexo se le asignó al nacer?" in printed
    assert printed.rstrip().endswith("4. Prefer not to say")
    assert set(answers(terminal_service)) == {"consent", "age"}


def test_mydata_and_delete_work_in_the_terminal(terminal_service: IntakeService) -> None:
    """/mydata prints what is stored; /delete asks, keeps on anything but yes, erases on yes."""
    message = terminal_service.message
    printed = chat(terminal_service, "I agree", "40", "/mydata", "/delete", "2", "/delete", "1")
    mydata = printed.split("> /mydata\n", 1)[1]
    assert mydata.startswith(message("mydata_header"))
    assert ": 40 years" in mydata.split("> /delete", 1)[0]
    assert message("delete_confirm") + "\n  1. " + message("delete_yes") in printed
    assert message("delete_kept") in printed
    assert printed.rstrip().endswith(message("deleted"))
    assert sessions(terminal_service) == []
    again = chat(terminal_service, "/mydata")
    assert message("mydata_empty") in again
