"""Patient data protection, the way a clinic meets it: real intakes on the real bot, a key set.

Patients type a canary string and raise red flags, one of them after their intake ended, and a
third patient's message waits in the inbox (received, not yet applied); then the raw SQLite
file and its WAL (read as bytes while the bot runs) hold neither the canary, nor any red-flag
id, nor the patient's name or Telegram id. (One flag id, `family_history`, is also the id of a
question: `stats` keeps counts over all patients per step id, so that word may be in the
file, as a step.)
Every message the review group ever received (sends and edits, as the fake Bot API recorded
them) holds no canary, name, id or answer; the allow-listed clinician's private chat gets the
summary, protected and without link previews; /delete withdraws the notice and deletes the
clinician's private messages. The database file and WAL are 0600.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlmodel import select
from telegram import Update

from bot.composition import Services
from bot.telegram.inbox import InboxStore, Received
from storage import inbox
from storage.tables import AuditEvent, InboxUpdate
from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import FakeBotApi, group_chat
from tests.bot.review_bot import (
    CLINICIAN,
    REVIEW_CHAT,
    review_services,
    start_review_bot,
    stop_review_bot,
    wait_until,
)

CANARY = "Zebracanary7731"
PHONE = "+447700900731"  # the emergency patient's call-back number
ROUTINE = 5_123_456_789
EMERGENCY = 5_987_654_321
WAITING = 5_555_000_731  # their message is in the inbox, held by an instance that is busy
NAMES = {
    ROUTINE: {"first_name": "Quillon", "last_name": "Marrowby", "username": "quillon_m"},
    EMERGENCY: {"first_name": "Ysolde", "last_name": "Fenwright", "username": "ysolde_f"},
    WAITING: {"first_name": "Orrin", "last_name": "Thistlewood", "username": "orrin_t"},
}


def words_of_patients() -> list[str]:
    """What must never reach the group or the file in clear: canary, names, ids."""
    found = [CANARY, PHONE, PHONE.lstrip("+"), str(ROUTINE), str(EMERGENCY), str(WAITING)]
    for profile in NAMES.values():
        found += list(profile.values())
    return found


def group_record(fake: FakeBotApi) -> str:
    """Everything the bot ever sent to or edited in the review group, as one text."""
    texts = [
        str(call.params.get("text", "")) + str(call.params.get("reply_markup", ""))
        for call in fake.calls
        if call.chat_id == REVIEW_CHAT
    ]
    return "\n".join(texts)


def raw_bytes(db: Path) -> bytes:
    """The database file and its WAL, as bytes."""
    wal = Path(f"{db}-wal")
    assert wal.exists(), "the WAL should hold recent pages"
    assert wal.stat().st_size > 0
    return db.read_bytes() + wal.read_bytes()


def absent(haystack: bytes, needles: Iterable[str]) -> list[str]:
    """The needles that do occur (expected: none)."""
    return [n for n in needles if n.encode() in haystack]


async def run_patients(bot: RunningBot) -> None:
    """A routine intake with the canary in free text and in a jaundice flag's evidence; an
    emergency whose evidence holds the canary, and who shares a call-back number."""
    patient = bot.patient(ROUTINE)
    patient.typed["concern"] = f"{CANARY} bloating, and my eyes have gone yellow {CANARY}"
    patient.typed["hopes"] = f"{CANARY} hopes https://example.com/{CANARY}"
    bot.fake.send_text(ROUTINE, f"/start src{CANARY}")
    await bot.settle()
    while await bot.step(ROUTINE):
        pass
    await bot.say(EMERGENCY, "/start")
    await bot.tap(EMERGENCY, "I agree")
    await bot.say(EMERGENCY, "61")
    await bot.say(EMERGENCY, f"I vomit blood {CANARY}")
    bot.fake.send_contact(EMERGENCY, PHONE, owner=EMERGENCY)
    await bot.settle()
    await bot.say(EMERGENCY, f"{CANARY} and now my skin and eyes have gone yellow")  # after the end


def hold_in_inbox(services: Services) -> None:
    """A message of a third patient, received by another (live) instance and not yet applied."""
    with services.database.transaction() as tx:
        inbox.heartbeat(tx, instance="busy:1")
    person = {"id": WAITING, "is_bot": False, **NAMES[WAITING]}
    chat = {"id": WAITING, "type": "private", **NAMES[WAITING]}
    text = f"{CANARY} my eyes have gone yellow"
    message = {"message_id": 1, "date": 0, "chat": chat, "from": person, "text": text}
    update = Update.de_json({"update_id": 900_731, "message": message}, None)
    assert InboxStore(services.database, "busy:1").keep(update) is Received.NEW


async def test_nothing_of_the_patient_in_the_file_or_the_group_and_the_clinician_reads_it(
    fake_api: FakeBotApi, db_path: Path
) -> None:
    """The must-show of data protection, end to end, with INTAKE_ENCRYPTION_KEY set."""
    fake_api.profiles.update(NAMES)
    services = review_services(fake_api, db_path)
    flow = services.registry.active
    flag_ids = [rule.id for rule in flow.red_flags if rule.id not in flow.steps]
    assert {"jaundice", "vomit_blood"} <= set(flag_ids)  # the flags these patients raise
    bot = await start_review_bot(fake_api, services)
    try:
        await run_patients(bot)
        await wait_until(lambda: len(fake_api.messages_to(REVIEW_CHAT)) == 2)
        [routine_notice, emergency_notice] = fake_api.messages_to(REVIEW_CHAT)
        routine_id = int(routine_notice.text.split("#")[1].split()[0])
        hold_in_inbox(services)

        stored = raw_bytes(db_path)
        with services.database.reading() as tx:
            waiting = tx.get(InboxUpdate, 900_731)
            late = [a for a in tx.exec(select(AuditEvent)) if a.action == "intake.flag_after_end"]
        assert waiting is not None
        assert (waiting.status, waiting.payload is not None) == ("pending", True)
        assert [a.detail for a in late] == ["same_day"]  # stored, with its evidence, sealed
        assert absent(stored, [*words_of_patients(), *flag_ids]) == []
        for path in (db_path, Path(f"{db_path}-wal")):
            assert path.stat().st_mode & 0o777 == 0o600

        before = len(fake_api.messages_to(CLINICIAN))
        fake_api.send_text(CLINICIAN, f"/show {routine_id}", chat=group_chat(REVIEW_CHAT))
        await bot.settle()
        fake_api.send_text(CLINICIAN, f"/show {routine_id}")
        await bot.settle()
        private = fake_api.messages_to(CLINICIAN)[before:]
        assert len(private) == 2
        for summary in private:
            assert summary.text.startswith(f"SAME DAY · review #{routine_id}")
            assert f'yellow {CANARY}" (typed at' in summary.text  # the flag's evidence
            assert "Quillon Marrowby (@quillon_m)" in summary.text
            assert (summary.protected, summary.previews) == (True, False)

        emergency_id = int(emergency_notice.text.split("#")[1].split()[0])
        fake_api.send_text(CLINICIAN, f"/show {emergency_id}")
        await bot.settle()
        [card] = fake_api.messages_to(CLINICIAN)[before + 2 :]
        assert f"Call-back number (shared by the patient): {PHONE}" in card.text
        assert f'blood {CANARY}"' in card.text  # the patient's words behind the flag
        assert (card.protected, card.previews) == (True, False)

        group = group_record(fake_api)
        for secret in [*words_of_patients(), "yellow", "vomit", "Jaundice", "bloating"]:
            assert secret not in group
        assert group.lower().count(f"review #{routine_id}") >= 2  # the notice, the /show answer

        await bot.say(ROUTINE, "/delete")
        await bot.tap(ROUTINE, "Yes, delete it")
        await wait_until(lambda: "withdrawn" in fake_api.sent[routine_notice.message_id].text)
        await wait_until(lambda: all(fake_api.sent[m.message_id].deleted for m in private))
    finally:
        await stop_review_bot(bot)
        services.close()
    assert fake_api.sent[routine_notice.message_id].text == (
        f"Review #{routine_id}: withdrawn. The intake's data has been deleted."
    )
    assert fake_api.sent[routine_notice.message_id].buttons == []
    assert "withdrawn" not in fake_api.sent[emergency_notice.message_id].text
