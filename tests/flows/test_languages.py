"""Languages in the intake service: which one a patient gets, switching, and what stays put.

A patient gets their app's language when the flow has it (`es-MX` -> `es`), else the default;
`/language` switches at any point without touching the answers; the choice is kept on the
patient. Clinicians keep reading the clinic's language (the flow's default), with a Spanish
patient's free text as written.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from flows.engine.conversation.values import Action, ActionKind, Inbound, Profile, PromptKind, Turn
from flows.engine.format.model import Flow
from flows.engine.records.record import ReviewRecord
from flows.engine.records.summary import render_summary
from flows.intake.service import IntakeService
from storage.database import Database
from storage.tables import IntakeSession, Patient
from tests.conftest import EMERGENCY_NUMBER

USER = 77
SPANISH_CONSENT = "¡Hola! Soy el asistente automático de la clínica"


def send(
    service: IntakeService, action: Action, *, language: str | None = None, user: int = USER
) -> Turn:
    """One action from a patient whose Telegram app speaks `language`."""
    inbound = Inbound(user_id=user, action=action, profile=Profile(language=language))
    return service.handle_sync(inbound)


def text(service: IntakeService, words: str, language: str | None = None) -> Turn:
    """The patient types `words`."""
    return send(service, Action(ActionKind.TEXT, words), language=language)


def pick(service: IntakeService, turn: Turn, code: str) -> Turn:
    """Press the /language button for `code` on the picker `turn` showed."""
    prompt = turn.prompts[-1]
    index = [choice.value for choice in prompt.choices].index(code)
    action = Action(ActionKind.LANGUAGE, session_id=turn.session_id or 0, option_index=index)
    return send(service, action, language="en")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("es", "es"), ("es-MX", "es"), ("es_AR", "es"), ("ES", "es"), ("de", "en"), (None, "en")],
)
def test_telegram_language_codes_map_onto_the_flow(
    service: IntakeService, code: str | None, expected: str
) -> None:
    """A regional or unknown code falls back to the language itself, then to the default."""
    assert service.registry.active.language_for(code) == expected


def test_a_spanish_app_gets_the_consent_question_in_spanish(service: IntakeService) -> None:
    """`/start` from an es-MX app: the consent question and its options are in Spanish."""
    turn = send(service, Action(ActionKind.START), language="es-MX")

    [consent] = turn.prompts
    assert consent.text.startswith(SPANISH_CONSENT)
    assert [c.label for c in consent.choices] == ["Acepto", "No, gracias"]
    assert turn.language == "es"


def test_switching_language_keeps_every_answer(service: IntakeService, database: Database) -> None:
    """Mid-intake, /language then Español: the same question again, in Spanish; answers kept."""
    text(service, "I agree")
    text(service, "45")
    turn = text(service, "Male")
    before = _answers(database)
    assert set(before) == {"consent", "age", "sex_at_birth"}

    picker = send(service, Action(ActionKind.LANGUAGE))
    assert [c.label for c in picker.prompts[-1].choices] == ["English", "Español"]
    switched = pick(service, picker, "es")

    notice, question = switched.prompts
    assert notice.text.startswith("De acuerdo, seguimos en español.")
    assert question.step == turn.prompts[-1].step == "urgent_now"
    assert question.text.startswith("Primero, unas preguntas de seguridad.")
    assert _answers(database) == before
    assert _patient(database).language == "es"
    # the next turn reads the stored choice, whatever the app says
    following = text(service, "Ninguno de estos", language="en").prompts[-1]
    assert following.text.startswith("Gracias. Ahora, dos preguntas sobre medicamentos.")


def test_switching_keeps_a_multi_select_in_progress(service: IntakeService) -> None:
    """Toggled options stay toggled when the question comes back in another language."""
    text(service, "I agree")
    text(service, "30")
    turn = text(service, "Female")
    turn = text(service, "No")  # not pregnant: urgent_now next
    question = turn.prompts[-1]
    toggle = Action(
        ActionKind.TOGGLE,
        session_id=turn.session_id,
        step_index=question.step_index,
        option_index=10,  # "None of these"
    )
    send(service, toggle)
    switched = pick(service, send(service, Action(ActionKind.LANGUAGE)), "es")

    selected = [c.label for c in switched.prompts[-1].choices if c.selected]
    assert selected == ["Ninguno de estos"]


def test_typing_a_spanish_option_before_consent_switches(
    service: IntakeService, database: Database
) -> None:
    """ "Acepto" under the English consent question: the intake goes on in Spanish."""
    turn = text(service, "Acepto", language="en")

    assert turn.prompts[-1].text.startswith("Gracias. ¿Qué edad tiene?")
    assert _patient(database).language == "es"


def test_a_language_pick_before_consent_stores_nothing(
    service: IntakeService, database: Database
) -> None:
    """Before consent the choice travels in the buttons; no row is written for it."""
    picker = send(service, Action(ActionKind.LANGUAGE), language="en")
    switched = pick(service, picker, "es")
    assert switched.prompts[-1].text.startswith(SPANISH_CONSENT)
    assert _rows(database, Patient) == []

    agree = Action(
        ActionKind.CHOOSE, session_id=0, step_index=0, option_index=0, language=switched.language
    )
    turn = send(service, agree, language="en")
    assert turn.prompts[-1].text.startswith("Gracias. ¿Qué edad tiene?")


def test_a_pick_for_another_intake_is_stale(service: IntakeService) -> None:
    """A /language button of an earlier intake changes nothing."""
    text(service, "I agree")
    action = Action(ActionKind.LANGUAGE, session_id=999, option_index=1)
    assert send(service, action).stale


def test_spanish_typed_answers_parse(service: IntakeService, database: Database) -> None:
    """Durations and yes/no typed in Spanish are understood; the review shows Spanish units."""
    for words in ("Acepto", "52", "Masculino", "Ninguno de estos", "Nunca", "no"):
        text(service, words, language="es")
    answers = _values(database)
    assert answers["blood_thinner"] == "no"
    assert answers["urgent_now"] == ["none"]


def test_spanish_red_flag_text_escalates_in_spanish(service: IntakeService) -> None:
    """Typed Spanish at any step is screened; the emergency message is the Spanish one."""
    text(service, "Acepto", language="es")
    turn = text(service, "he vomitado sangre", language="es")

    assert turn.escalation == "emergency"
    assert turn.prompts[0].kind is PromptKind.ESCALATION
    assert turn.prompts[0].text.startswith(f"Llame ahora al {EMERGENCY_NUMBER}")
    assert turn.ended


def test_a_spanish_diagnosis_question_gets_the_spanish_refusal(service: IntakeService) -> None:
    """ "¿Podría ser celiaquía?" is refused in Spanish, and the question is asked again."""
    text(service, "Acepto", language="es")
    turn = text(service, "¿Podría ser celiaquía?", language="es")

    refusal, again = turn.prompts
    assert refusal.text.startswith("Es una pregunta importante.")
    assert again.step == "age"


def test_clinicians_read_the_clinic_language(service: IntakeService, database: Database) -> None:
    """A Spanish patient's summary is in English, with their free text as they wrote it."""
    flow: Flow = service.registry.active
    for words in ("Acepto", "40", "Masculino", "Ninguno de estos", "Nunca", "No"):
        text(service, words, language="es")
    text(service, "Ninguno de estos", language="es")
    text(service, "Ninguno de estos", language="es")
    text(service, "Hinchazón después de comer, sobre todo por la noche", language="es")
    text(service, "3 semanas", language="es")
    answers = _values(database)
    assert answers["concern_duration"] == 21

    summary = render_summary(flow, _record(database), answers)
    assert "Main concern: Hinchazón después de comer, sobre todo por la noche" in summary
    assert "How long it has been going on: 3 weeks" in summary
    assert "Sex at birth: Male" in summary


def _answers(database: Database) -> dict[str, Any]:
    return _values(database)


def _values(database: Database) -> dict[str, Any]:
    """Every stored answer by step (opened from the sessions' sealed state)."""
    found: dict[str, Any] = {}
    for session in _rows(database, IntakeSession):
        found.update(database.sealer.unseal_json(session.state)["answers"])
    return found


def _patient(database: Database) -> Patient:
    [patient] = _rows(database, Patient)
    return patient


def _rows(database: Database, table: Any) -> list[Any]:
    with database.transaction() as tx:
        return list(tx.exec(select(table)))


def _record(database: Database) -> ReviewRecord:
    [session] = _rows(database, IntakeSession)
    return ReviewRecord(
        item_id=1,
        intake_id=session.id,
        priority="routine",
        status="pending",
        red_flags=(),
        flow_id=session.flow_id,
        flow_version=session.flow_version,
        intake_status=session.status,
        queued_at=session.started_at,
    )
