"""Fixtures for the Telegram tests: the fake Bot API, real services over SQLite, a running bot.

`telegram_bot` is the real `Application` built by `build_application`, long-polling the fake
Bot API on loopback, over the real `IntakeService` and a SQLite file in `tmp_path`, sealed with
`TEST_KEY` as Telegram mode requires. `settle()`
waits until the bot has fetched every injected update and finished handling it (PTB's update
queue is joined), so tests read the fake's record without sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import BaseHandler

from bot import composition
from bot.composition import Services, build_services
from bot.settings import Settings
from bot.telegram.application import AnyApplication, build_application
from bot.telegram.pacer import Rates
from flows.registry import load_active
from storage.sealing import new_key
from tests.bot.fake_bot_api import TOKEN, FakeBotApi, Sent
from tests.bot.simulated_patient import Press, SimulatedPatient, Type

BOOKING_URL = "https://clinic.test/book?ref={intake_id}"
TEST_KEY = new_key()
FAST = Rates(chat_per_second=1000, chat_burst=100, overall_per_second=10_000, overall_burst=1000)


@dataclass
class RunningBot:
    """A started Application on the fake API, with patient-side shortcuts."""

    app: AnyApplication
    fake: FakeBotApi
    services: Services
    patients: dict[int, SimulatedPatient] = field(default_factory=dict)

    async def settle(self, timeout: float = 10) -> None:
        """Wait until every injected update has been fetched and fully handled."""
        await self.fake.delivered(timeout)
        await self.app.update_queue.join()

    async def say(self, user: int, text: str) -> int:
        """A patient types `text`; returns its message id once the bot has answered."""
        message_id = self.fake.send_text(user, text)
        await self.settle()
        return message_id

    async def tap(self, user: int, label: str) -> None:
        """A patient taps the newest button labelled `label`."""
        self.fake.press_label(user, label)
        await self.settle()

    def texts(self, user: int) -> list[str]:
        """The bot's messages to `user` as they now read."""
        return self.fake.texts_to(user)

    def last(self, user: int) -> Sent:
        """The newest bot message to `user`."""
        return self.fake.messages_to(user)[-1]

    def patient(self, user: int) -> SimulatedPatient:
        """The simulated patient for `user` (created on first use)."""
        if user not in self.patients:
            flow = self.services.registry.active
            self.patients[user] = SimulatedPatient(user, flow, "clinic.test/book")
        return self.patients[user]

    async def step(self, user: int) -> bool:
        """Make the simulated patient's next move; False when there is none."""
        move = self.patient(user).next_move(self.fake.messages_to(user))
        if move is None:
            return False
        await self._make(user, move)
        return True

    async def advance_to(self, user: int, step_id: str, *, limit: int = 200) -> None:
        """Answer as the simulated patient until the question of `step_id` is showing."""
        patient = self.patient(user)
        for _ in range(limit):
            move = patient.next_move(self.fake.messages_to(user))
            if patient.steps_seen and patient.steps_seen[-1] == step_id:
                return
            assert move is not None, f"the intake ended before {step_id}"
            await self._make(user, move)
        raise AssertionError(f"{step_id} was never asked")

    async def _make(self, user: int, move: Type | Press) -> None:
        if isinstance(move, Type):
            self.fake.send_text(user, move.text)
        else:
            self.fake.press(user, move.message_id, move.data)
        await self.settle()

    async def run_intake(self, user: int, *, limit: int = 200) -> int:
        """Start and let the simulated patient answer until done; returns the moves made."""
        await self.say(user, "/start")
        moves = 0
        while await self.step(user):
            moves += 1
            assert moves < limit, "the intake did not end"
        return moves


def make_settings(fake: FakeBotApi, db: Path, **overrides: Any) -> Settings:
    """Settings for a bot on the fake API and a SQLite file (no `.env` is read)."""
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_api_url": fake.base_url,
        "database_url": f"sqlite:///{db}",
        "booking_url": BOOKING_URL,
        "encryption_key": TEST_KEY,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def start_bot(
    fake: FakeBotApi,
    services: Services,
    *,
    rates: Rates | None = FAST,
    extra_handlers: Sequence[BaseHandler[Any, Any, Any]] = (),
) -> RunningBot:
    """Build and start the real Application, long-polling the fake."""
    app = build_application(services, rates=rates, extra_handlers=extra_handlers)
    return await run_app(app, fake, services)


async def run_app(app: AnyApplication, fake: FakeBotApi, services: Services) -> RunningBot:
    """Initialise and start a built Application, long-polling the fake."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    return RunningBot(app, fake, services)


async def stop_bot(bot: RunningBot) -> None:
    """Stop polling, finish pending updates, run the post-stop hooks, shut the Application down."""
    assert bot.app.updater is not None
    await bot.app.updater.stop()
    await bot.app.stop()
    if bot.app.post_stop is not None:
        await bot.app.post_stop(bot.app)
    await bot.app.shutdown()


_LOADED_FLOWS: dict[tuple[tuple[str, str], ...], Any] = {}


def _load_active_once(**options: Any) -> Any:
    """`load_active`, remembered: validating the bundled flow takes a second per test."""
    key = tuple(sorted((name, str(value)) for name, value in options.items()))
    if key not in _LOADED_FLOWS:
        _LOADED_FLOWS[key] = load_active(**options)
    return _LOADED_FLOWS[key]


@pytest.fixture(autouse=True)
def _flows_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Share the loaded (immutable) flow between tests instead of validating it every time."""
    monkeypatch.setattr(composition, "load_active", _load_active_once)


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API, listening on loopback."""
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The SQLite file of the test."""
    return tmp_path / "intake.db"


@pytest.fixture
def services(fake_api: FakeBotApi, db_path: Path) -> Iterator[Services]:
    """Real services over the SQLite file, configured for the fake API."""
    built = build_services(make_settings(fake_api, db_path))
    yield built
    built.close()


@pytest.fixture
async def telegram_bot(fake_api: FakeBotApi, services: Services) -> AsyncIterator[RunningBot]:
    """The real bot, running against the fake API."""
    bot = await start_bot(fake_api, services)
    yield bot
    await stop_bot(bot)
