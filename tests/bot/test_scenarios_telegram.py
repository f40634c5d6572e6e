"""The bundled scenarios through the Telegram front end: the real `Application` on the fake
Bot API, the real intake service on SQLite, every scenario another patient, all at once.

Each patient makes its scenario's moves as a Telegram user would: presses the button of the
option (toggles, then Done, for a multi-select; Skip; Yes / No on a "Just to check"), types
text and commands. The outcome stored must be the outcome of the scenario's in-memory run:
the intake's status, the review item's priority and its red flags with their levels.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.composition import build_services
from flows.engine.conversation.buttons import ButtonAction, decode
from flows.workbench.runs import ESCALATED, IN_PROGRESS, Move, Run
from storage.queue import priority_of
from storage.tables import IntakeSession, Patient, ReviewItem
from tests.bot.conftest import RunningBot, make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.test_vignettes_telegram import SharedSettle
from tests.flows.bundled_scenarios import bundled_report

FIRST_USER = 70_000
RUNS = bundled_report().runs
BUTTONS = {
    "press": ButtonAction.CHOOSE,
    "toggle": ButtonAction.SELECT,  # scenarios tick options
    "done": ButtonAction.DONE,
    "confirm": ButtonAction.CONFIRM,
    "/skip": ButtonAction.SKIP,
}
Outcome = tuple[str | None, list[str], dict[str, str]]


class TelegramPlayer:
    """One patient making one scenario's moves in a private chat."""

    def __init__(self, bot: RunningBot, settler: SharedSettle, user: int, run: Run) -> None:
        self.bot, self.fake, self.settler, self.user, self.run = bot, bot.fake, settler, user, run
        self.problems: list[str] = []

    async def play(self) -> None:
        """/start, then every move of the run."""
        await self._do(lambda: self.fake.send_text(self.user, "/start"))
        for move in self.run.moves:
            await self._move(move)

    async def _move(self, move: Move) -> None:
        key = move.value if move.kind == "command" else move.kind
        if key in BUTTONS:
            found = self._button(BUTTONS[key], move.index)
            if found is None:
                self.problems.append(f"no {key} button for {move}")
                return
            message_id, data = found
            await self._do(lambda: self.fake.press(self.user, message_id, data))
        else:  # typed text and typed commands
            await self._do(lambda: self.fake.send_text(self.user, move.value or ""))

    def _button(self, action: ButtonAction, index: int | None) -> tuple[int, str] | None:
        """The newest button doing `action` on option `index` (any option for Done / Skip)."""
        for message in reversed(self.fake.messages_to(self.user)):
            for _label, data in message.buttons:
                button = decode(data)
                wanted = index is None or action in (ButtonAction.DONE, ButtonAction.SKIP)
                if button and button.action is action and (wanted or button.option_index == index):
                    return message.message_id, data
        return None

    async def _do(self, act: object) -> None:
        assert callable(act)
        act()
        await self.settler.settle(self.fake.last_update_id)

    def outcome(self) -> Outcome:
        """The stored status, review priorities and red flags of this patient's intake."""
        database = self.bot.services.database
        hashes = database.sealer.lookup_hashes(self.user)
        with database.transaction() as tx:
            found = select(Patient).where(col(Patient.telegram_id_hash).in_(hashes))
            patient = tx.exec(found).first()
            if patient is None:
                return None, [], {}
            query = select(IntakeSession).where(IntakeSession.patient_id == patient.id)
            record = tx.exec(query.order_by(col(IntakeSession.id).desc())).first()
            assert record is not None
            items = tx.exec(select(ReviewItem).where(ReviewItem.session_id == record.id)).all()
            raised = [database.sealer.unseal_json(item.red_flags) for item in items]
            flags = {flag["id"]: flag["level"] for listed in raised for flag in listed}
            return record.status, [priority_of(item) for item in items], flags


def expected(run: Run) -> Outcome:
    """The outcome the in-memory run says the database must hold."""
    if run.status == "declined":
        return None, [], {}
    status = {ESCALATED: "escalated", IN_PROGRESS: "active"}.get(run.end, run.status)
    priorities = [run.priority] if run.priority != "none" else []
    flags = {flag: raised.level for flag, raised in run.raised.items()} if priorities else {}
    return status, priorities, flags


async def play_all(db: Path) -> dict[str, tuple[Outcome, list[str]]]:
    """Every bundled scenario as a patient of one running bot; outcome and problems by name."""
    fake = FakeBotApi()
    await fake.start()
    services = build_services(make_settings(fake, db))
    bot = await start_bot(fake, services)
    try:
        settler = SharedSettle(bot)
        players = [TelegramPlayer(bot, settler, FIRST_USER + n, run) for n, run in enumerate(RUNS)]
        await asyncio.gather(*(player.play() for player in players))
        return {p.run.loaded.name: (p.outcome(), p.problems) for p in players}
    finally:
        await stop_bot(bot)
        services.close()
        await fake.stop()


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Outcome, list[str]]]:
    """The whole set played once for the module, on its own event loop and SQLite file."""
    return asyncio.run(play_all(tmp_path_factory.mktemp("scenarios") / "intake.db"))


@pytest.mark.parametrize("run", RUNS, ids=[run.loaded.name for run in RUNS])
def test_scenario_on_telegram(played: dict[str, tuple[Outcome, list[str]]], run: Run) -> None:
    """Pressed and typed on Telegram, the scenario ends as it does in memory."""
    outcome, problems = played[run.loaded.name]
    assert problems == []
    assert outcome == expected(run)
