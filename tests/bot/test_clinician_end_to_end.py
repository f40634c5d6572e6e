"""End to end: real intakes on Telegram reach the review chat as content-free notices, the CLI
lists and exports them as valid FHIR, and a non-clinician gets no patient data anywhere."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from typer.testing import CliRunner

from bot.cli import app as cli_app
from flows.engine.records.fhir import check_response
from tests.bot.conftest import TEST_KEY
from tests.bot.fake_bot_api import FakeBotApi, group_chat
from tests.bot.review_bot import (
    REVIEW_CHAT,
    STRANGER,
    review_services,
    start_review_bot,
    stop_review_bot,
    wait_until,
)

ROUTINE_PATIENT = 3001
EMERGENCY_PATIENT = 3002


def cli(db_path: Path, *args: str) -> str:
    """Run `intake-bot` on the test database; its stdout (exit code 0 asserted)."""
    env = {"INTAKE_DATABASE_URL": f"sqlite:///{db_path}", "INTAKE_ENCRYPTION_KEY": TEST_KEY}
    result = CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


async def test_intakes_reach_the_review_chat_list_export_and_stay_private(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """Routine and emergency intakes: notices in the review chat, listed, exported, private."""
    services = review_services(fake_api, db_path)
    bot = await start_review_bot(fake_api, services, poll=30.0)
    try:
        await bot.run_intake(ROUTINE_PATIENT)
        await wait_until(lambda: len(fake_api.messages_to(REVIEW_CHAT)) == 1, timeout=5)
        await bot.say(EMERGENCY_PATIENT, "/start")
        await bot.tap(EMERGENCY_PATIENT, "I agree")
        await bot.say(EMERGENCY_PATIENT, "61")
        await bot.say(EMERGENCY_PATIENT, "I vomit blood")
        took = await wait_until(lambda: len(fake_api.messages_to(REVIEW_CHAT)) == 2, timeout=5)
        for text in ("/queue", "/show 1", "/show 2", "/claim 2", "/done 2 ok", "/stats"):
            for chat in (None, group_chat(REVIEW_CHAT)):
                fake_api.send_text(STRANGER, text, chat=chat)
                await bot.settle()
        stranger_replies = [m.text for m in fake_api.messages_to(STRANGER)]
        not_available = services.intake.message("not_available")
    finally:
        await stop_review_bot(bot)
        services.close()

    routine_card, emergency_card = fake_api.messages_to(REVIEW_CHAT)[:2]
    assert routine_card.text.startswith("ROUTINE")
    assert emergency_card.text.startswith("EMERGENCY")
    assert took < 2  # the worker polls every 30 s: it was woken by the escalation
    assert str(EMERGENCY_PATIENT) not in emergency_card.text

    items = json.loads(cli(db_path, "review", "list", "--json"))
    assert [(i["priority"], i["telegram_user_id"]) for i in items] == [
        ("emergency", EMERGENCY_PATIENT),
        ("routine", ROUTINE_PATIENT),
    ]
    for item in items:
        bundle = Bundle.model_validate_json(
            cli(db_path, "review", "export", str(item["id"]), "--format", "fhir")
        )
        assert bundle.entry is not None
        questionnaire, response, *flags = (e.resource for e in bundle.entry)
        assert len(flags) == (1 if item["priority"] == "emergency" else 0)  # one per raised flag
        assert isinstance(questionnaire, Questionnaire)
        assert isinstance(response, QuestionnaireResponse)
        assert check_response(questionnaire, response) == []
        expected = "stopped" if item["priority"] == "emergency" else "completed"
        assert response.status == expected

    assert stranger_replies == [not_available] * 6
    review_texts = [m.text for m in fake_api.messages_to(REVIEW_CHAT)[2:]]
    assert review_texts == [not_available] * 6
