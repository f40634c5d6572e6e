"""Languages on Telegram: the patient's app language, /language mid-intake, Spanish throughout.

The real `Application` and intake service over the fake Bot API: the fake sends each user's
`language_code` as Telegram does, and the tests read what the bot sent back.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from flows.engine.conversation.buttons import ButtonAction, decode
from storage.tables import IntakeSession, Patient, ReviewItem
from tests.bot.conftest import RunningBot

SPANISH_CONSENT = "¡Hola! Soy el asistente automático de la clínica"
ENGLISH_CONSENT = "Hello! I'm the clinic's automated intake assistant."
PATIENT = 2001


async def test_a_spanish_telegram_user_gets_the_consent_question_in_spanish(
    telegram_bot: RunningBot,
) -> None:
    """language_code es-MX: consent, its buttons and the next question are in Spanish."""
    telegram_bot.fake.languages[PATIENT] = "es-MX"
    await telegram_bot.say(PATIENT, "/start")

    consent = telegram_bot.last(PATIENT)
    assert SPANISH_CONSENT in consent.text
    assert "Pregunta 1 de unas" in consent.text
    assert [label for label, _ in consent.buttons] == ["Acepto", "No, gracias"]

    await telegram_bot.tap(PATIENT, "Acepto")
    assert "¿Qué edad tiene?" in telegram_bot.last(PATIENT).text
    with telegram_bot.services.database.transaction() as tx:
        patient = tx.exec(select(Patient)).one()
    assert patient.language == "es"


async def test_an_unknown_app_language_gets_the_default(telegram_bot: RunningBot) -> None:
    """A language the flow does not have (German) gets the flow's default, English."""
    telegram_bot.fake.languages[PATIENT] = "de"
    await telegram_bot.say(PATIENT, "/start")

    assert ENGLISH_CONSENT in telegram_bot.last(PATIENT).text


async def test_language_switches_mid_intake_without_losing_answers(
    telegram_bot: RunningBot,
) -> None:
    """/language, then Español: the same question comes back in Spanish; answers are kept."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.advance_to(PATIENT, "nsaids")
    english_question = bot.last(PATIENT)
    before = _answers(bot)

    await bot.say(PATIENT, "/language")
    picker = bot.last(PATIENT)
    assert picker.text == "Which language would you like to use? Your answers so far are kept."
    assert [label for label, _ in picker.buttons] == ["English", "Español"]
    assert all(_action(data) is ButtonAction.LANGUAGE for _, data in picker.buttons)
    await bot.tap(PATIENT, "Español")

    texts = bot.texts(PATIENT)
    assert "De acuerdo, seguimos en español." in texts[-2]
    question = bot.last(PATIENT)
    assert "¿Con qué frecuencia toma analgésicos antiinflamatorios?" in question.text
    assert [label for label, _ in question.buttons][:2] == [
        "Nunca o casi nunca",
        "Algunas veces al mes",
    ]
    assert bot.fake.sent[english_question.message_id].buttons == []  # retired, not answerable
    assert bot.fake.sent[picker.message_id].buttons == []
    assert _answers(bot) == before
    with bot.services.database.transaction() as tx:
        assert tx.exec(select(Patient)).one().language == "es"

    while await bot.step(PATIENT):  # the simulated patient carries on to the end, in Spanish
        pass
    last = bot.texts(PATIENT)[-1]
    assert "Sus respuestas se han enviado a la clínica" in last
    assert set(before) <= set(_answers(bot))
    with bot.services.database.transaction() as tx:
        assert len(tx.exec(select(ReviewItem)).all()) == 1


async def test_language_before_consent_carries_into_the_intake(telegram_bot: RunningBot) -> None:
    """Switching before consent stores nothing; tapping Acepto then goes on in Spanish."""
    bot = telegram_bot
    await bot.say(PATIENT, "/start")
    await bot.say(PATIENT, "/language")
    await bot.tap(PATIENT, "Español")
    with bot.services.database.transaction() as tx:
        assert tx.exec(select(Patient)).all() == []

    consent = bot.last(PATIENT)
    assert SPANISH_CONSENT in consent.text
    await bot.tap(PATIENT, "Acepto")
    assert "¿Qué edad tiene?" in bot.last(PATIENT).text


async def test_spanish_free_text_is_screened_in_spanish(telegram_bot: RunningBot) -> None:
    """A Spanish patient typing a red flag in Spanish gets the Spanish emergency message."""
    bot = telegram_bot
    bot.fake.languages[PATIENT] = "es"
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "Acepto")
    await bot.say(PATIENT, "tengo 40 años y esta mañana he vomitado sangre")

    escalation = bot.texts(PATIENT)[-2]  # then the optional call-back offer
    assert escalation.startswith("Llame ahora al 112")
    assert bot.texts(PATIENT)[-1].startswith("Si quiere que la clínica le llame")
    assert "Este chat no puede ayudar en una emergencia." in escalation


def _answers(bot: RunningBot) -> dict[str, Any]:
    """Every stored answer by step (opened from the sessions' sealed state)."""
    database = bot.services.database
    with database.transaction() as tx:
        states = [session.state for session in tx.exec(select(IntakeSession)).all()]
    found: dict[str, Any] = {}
    for state in states:
        found.update(database.sealer.unseal_json(state)["answers"])
    return found


def _action(data: str) -> ButtonAction | None:
    button = decode(data)
    return button.action if button is not None else None
