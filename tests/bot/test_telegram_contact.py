"""Call-back numbers at urgent levels, and minors, through the real Application.

After a same-day or emergency flag the bot offers Telegram's share-contact button (optional,
said so); the patient's own number is sealed on the intake and shown to clinicians only, in
`review show` and the exports. Someone else's card is refused and nothing is kept. Under the
minimum age the intake ends and nothing of it stays in the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from bot.composition import Services, build_services
from storage.tables import AuditEvent, InboxUpdate, IntakeSession, Patient
from tests.bot.conftest import RunningBot, make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import FakeBotApi

PATIENT = 6006
PHONE = "+447700900123"
KEY = Fernet.generate_key().decode()


@pytest.fixture
async def sealed_bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real bot over a SQLite file, with an encryption key."""
    services: Services = build_services(
        make_settings(fake_api, tmp_path / "intake.db", encryption_key=KEY)
    )
    bot = await start_bot(fake_api, services)
    yield bot
    await stop_bot(bot)
    services.close()


async def same_day_flag(bot: RunningBot) -> None:
    """Consent, age, then free text that raises a same-day flag."""
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "44")
    await bot.say(PATIENT, "the whites of my eyes have gone yellow since Monday")


def contact_offer(bot: RunningBot) -> dict[str, object] | None:
    """The share-contact button of the newest message offering one, if any."""
    for sent in reversed(bot.fake.messages_to(PATIENT)):
        rows = (sent.reply_markup or {}).get("keyboard", [])
        if rows:
            button: dict[str, object] = rows[0][0]
            return button
    return None


def stored_phone(bot: RunningBot) -> str | None:
    """The raw (sealed) call-back column of the patient's intake."""
    with bot.services.database.transaction() as tx:
        return tx.exec(select(IntakeSession.callback_phone)).first()


async def test_urgent_flag_offers_the_share_contact_button(sealed_bot: RunningBot) -> None:
    """A same-day flag is followed by an optional offer with a request_contact button."""
    bot = sealed_bot
    await same_day_flag(bot)
    button = contact_offer(bot)
    assert button is not None
    assert button["request_contact"] is True
    assert any("This is optional" in text for text in bot.texts(PATIENT))


async def test_own_contact_is_sealed_and_shown_to_clinicians(sealed_bot: RunningBot) -> None:
    """The patient's own number is stored sealed (not readable in the column) for clinicians."""
    bot = sealed_bot
    await same_day_flag(bot)
    bot.fake.send_contact(PATIENT, PHONE, owner=PATIENT)
    await bot.settle()

    saved = [t for t in bot.texts(PATIENT) if t.startswith("Thank you. We've passed your number")]
    assert len(saved) == 1
    assert "What sex were you assigned at birth?" in bot.texts(PATIENT)[-1]  # asked again
    raw = stored_phone(bot)
    assert raw is not None
    assert PHONE not in raw
    assert bot.services.database.sealer.unseal(raw) == PHONE
    await bot.run_intake(PATIENT)
    review = bot.services.review
    [item] = review.list_items("cli:test")
    view = review.show("cli:test", item.item_id)
    assert f"Call-back number (shared by the patient): {PHONE}" in view.summary
    assert PHONE in review.export("cli:test", item.item_id, "json")
    assert all(PHONE not in text for text in bot.texts(PATIENT))  # never echoed to the chat


async def test_someone_elses_contact_is_refused(sealed_bot: RunningBot) -> None:
    """A forwarded contact card of another person is not a call-back number: nothing is kept."""
    bot = sealed_bot
    await same_day_flag(bot)
    bot.fake.send_contact(PATIENT, PHONE, owner=PATIENT + 1)
    await bot.settle()

    assert bot.texts(PATIENT)[-1].startswith("Sorry, I can only take your own phone number")
    assert stored_phone(bot) is None


async def test_a_minor_is_told_to_come_with_a_parent_and_nothing_is_kept(
    sealed_bot: RunningBot,
) -> None:
    """Under 16: a clear message, the intake ends, and no patient, intake or audit row stays."""
    bot = sealed_bot
    await bot.say(PATIENT, "/start")
    await bot.tap(PATIENT, "I agree")
    await bot.say(PATIENT, "14")

    assert "parent or guardian" in bot.texts(PATIENT)[-1]
    with bot.services.database.transaction() as tx:
        assert tx.exec(select(Patient)).all() == []
        assert tx.exec(select(IntakeSession)).all() == []
        assert tx.exec(select(AuditEvent).where(AuditEvent.session_id.is_not(None))).all() == []  # type: ignore[union-attr]
        senders = tx.exec(select(InboxUpdate.chat_hash, InboxUpdate.chat)).all()
        assert senders != []
        assert set(senders) == {(0, None)}  # the updates stay processed, pointing to no one
    await bot.say(PATIENT, "hello")  # a new message starts afresh: the consent question
    assert "Do you agree" in bot.texts(PATIENT)[-1]
