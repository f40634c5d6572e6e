"""Hot reload, as an operator meets it: a real `intake-bot run` process on the fake Bot API.

The bot runs from a flows folder in `tmp_path`. A new version of the flow, announced by
SIGHUP or just saved (the bot polls the files), becomes the one new intakes start on while an
intake in progress finishes on its own; an invalid file, or a changed one that kept its
version, is refused with the problem in the log; the bot answers throughout, in polling and
in webhook mode, and still stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.telegram.webhook import SECRET_HEADER
from tests.bot.conftest import TEST_KEY
from tests.bot.fake_bot_api import TOKEN, FakeBotApi
from tests.bot.fake_telegram_objects import entities, message_base
from tests.bot.test_telegram_webhook import free_port
from tests.conftest import BOOKING_URL
from tests.flows.conftest import FlowText, mini_flow_text

CLI = Path(sys.executable).parent / "intake-bot"
CONSENT = "This is an automated intake"
AGE = "How old are you?"
SYMPTOMS = "Which of these do you notice?"
SECRET = "hot-reload-secret"


@dataclass
class BotProcess:
    """A running `intake-bot run` and the file its log goes to."""

    process: subprocess.Popen[bytes]
    log: Path
    flow: Path

    def logged(self) -> str:
        """Everything logged so far."""
        return self.log.read_text(errors="replace")

    def write(self, text: FlowText) -> None:
        """Save a new content of the flow file, as an editor would."""
        self.flow.write_text(text.text)


async def until(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    """Wait (serving the fake meanwhile) until `check()` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.05)


def start(tmp_path: Path, fake: FakeBotApi, **env: str) -> BotProcess:
    """`intake-bot run` on the small flow in a flows folder of its own."""
    flows = tmp_path / "flows"
    flows.mkdir()
    flow = flows / "mini.yaml"
    flow.write_text(mini_flow_text().text)
    log = tmp_path / "bot.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    environment |= {
        "INTAKE_TELEGRAM_TOKEN": TOKEN,
        "INTAKE_TELEGRAM_API_URL": fake.base_url,
        "INTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_FLOWS_DIR": str(flows),
        "INTAKE_FLOW": "mini",
        "INTAKE_FLOW_WATCH_SECONDS": "0.2",
        "INTAKE_BOOKING_URL": BOOKING_URL,  # the placeholder link is refused on Telegram
        "INTAKE_ENCRYPTION_KEY": TEST_KEY,  # Telegram mode refuses to run without one
        **env,
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(CLI), "run"], cwd=tmp_path, env=environment, stdout=sink, stderr=sink
        )
    return BotProcess(process, log, flow)


async def stop(bot: BotProcess) -> int:
    """SIGTERM, then the exit code."""
    bot.process.send_signal(signal.SIGTERM)
    for _ in range(400):
        if bot.process.poll() is not None:
            return bot.process.returncode
        await asyncio.sleep(0.05)
    bot.process.kill()
    return -9


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API on loopback, served by this test's event loop."""
    api = FakeBotApi()
    await api.start()
    yield api
    await api.stop()


def version(n: int, *edits: tuple[str, str]) -> FlowText:
    """The small flow as version `n`, with some texts changed."""
    text = mini_flow_text().replace("version: 1", f"version: {n}")
    for old, new in edits:
        text = text.replace(old, new)
    return text


async def ask(fake: FakeBotApi, user: int, text: str, expected: str) -> None:
    """A patient types `text`; wait for a reply containing `expected`."""
    seen = len(fake.messages_to(user))
    fake.send_text(user, text)
    await until(
        lambda: any(expected in m.text for m in fake.messages_to(user)[seen:]),
        f"{expected!r} for user {user}",
    )


async def test_polling_bot_reloads_on_sighup_and_on_save(tmp_path: Path, fake: FakeBotApi) -> None:
    """SIGHUP, then a saved file, each activate a new version for new intakes; an intake in
    progress keeps its version; a broken file and a changed one with its old version are
    refused in the log, the bot answering throughout."""
    bot = start(tmp_path, fake)
    try:
        await until(lambda: fake.calls_of("getUpdates"), "the bot to poll")
        await ask(fake, 1, "/start", CONSENT)
        await ask(fake, 1, "I agree", AGE)

        bot.write(version(2, (AGE, "Your age, please?"), (SYMPTOMS, "Which symptoms now?")))
        bot.process.send_signal(signal.SIGHUP)
        await until(lambda: "flow.activated flow=mini version=2 reason=" in bot.logged(), "v2")
        await ask(fake, 2, "/start", CONSENT)
        await ask(fake, 2, "I agree", "Your age, please?")
        await ask(fake, 1, "40", SYMPTOMS)  # patient 1 is still on version 1

        bot.write(version(3, (AGE, "How many years old are you?")))
        await until(lambda: "version=3 reason=file change" in bot.logged(), "v3 by file watch")
        await ask(fake, 3, "/start", CONSENT)
        await ask(fake, 3, "I agree", "How many years old are you?")

        bot.write(version(4, ("next: symptoms", "next: nowhere")))
        await until(lambda: "unknown step 'nowhere'" in bot.logged(), "the broken file refused")
        assert "flow.refused flow=mini version=3 reason=file change (still active)" in bot.logged()
        await ask(fake, 4, "/start", CONSENT)
        await ask(fake, 4, "I agree", "How many years old are you?")

        bot.write(version(3, (AGE, "Age?")))  # version 3 again, different content
        await until(lambda: "already stored with other content" in bot.logged(), "v3 changed")
        await ask(fake, 5, "/start", CONSENT)
        await ask(fake, 5, "I agree", "How many years old are you?")
        await ask(fake, 1, "bloating", "Review intro")  # version 1 to the review screen
    finally:
        code = await stop(bot)
    assert code == 0, bot.logged()
    assert "Traceback" not in bot.logged()


def text_update(update_id: int, user: int, text: str) -> dict[str, Any]:
    """A Telegram update carrying a patient's text."""
    message = {**message_base(user, None, update_id), "text": text, **entities(text)}
    return {"update_id": update_id, "message": message}


async def test_webhook_bot_reloads_on_sighup(tmp_path: Path, fake: FakeBotApi) -> None:
    """In webhook mode too: SIGHUP activates the new version; the server keeps answering."""
    port = free_port()
    bot = start(
        tmp_path,
        fake,
        INTAKE_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        INTAKE_WEBHOOK_SECRET=SECRET,
        INTAKE_LISTEN=f"127.0.0.1:{port}",
        INTAKE_FLOW_WATCH_SECONDS="0",
    )
    updates = iter(range(1, 1000))

    async def post(user: int, text: str, expected: str) -> None:
        seen = len(fake.messages_to(user))
        body = json.dumps(text_update(next(updates), user, text))
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        async with httpx.AsyncClient() as client:
            reply = await client.post(
                f"http://127.0.0.1:{port}/telegram", content=body, headers=headers
            )
        assert reply.status_code == 200
        await until(
            lambda: any(expected in m.text for m in fake.messages_to(user)[seen:]), expected
        )

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        deadline = time.monotonic() + 60
        while not await healthy():
            assert time.monotonic() < deadline, bot.logged()
            await asyncio.sleep(0.1)
        await post(1, "/start", CONSENT)
        await post(1, "I agree", AGE)
        bot.write(version(2, (AGE, "Your age, please?")))
        bot.process.send_signal(signal.SIGHUP)
        await until(
            lambda: "flow.activated flow=mini version=2 reason=SIGHUP" in bot.logged(), "v2"
        )
        assert await healthy()
        await post(2, "/start", CONSENT)
        await post(2, "I agree", "Your age, please?")
        await post(1, "40", SYMPTOMS)
    finally:
        code = await stop(bot)
    assert code == 0, bot.logged()
