"""Webhook mode: the secret is checked in constant time, updates are handled, /healthz answers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from bot.cli.run import webhook_config
from bot.composition import Services
from bot.preflight import Mode, problems
from bot.settings import Settings
from bot.telegram.application import build_application
from bot.telegram.webhook import (
    MAX_BODY,
    SECRET_HEADER,
    WebhookConfig,
    parse_listen,
    serve_webhook,
)
from storage import inbox
from storage.sealing import new_key
from tests.bot.conftest import FAST
from tests.bot.fake_bot_api import FakeBotApi

PATIENT = 6006
SECRET = "s3cret-webhook-token"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_update(update_id: int) -> dict[str, Any]:
    """A Telegram update: the patient sends /start."""
    message = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": PATIENT, "type": "private", "first_name": "P"},
        "from": {"id": PATIENT, "is_bot": False, "first_name": "P"},
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return {"update_id": update_id, "message": message}


@dataclass
class Webhook:
    """A running webhook server and the means to stop it."""

    url: str
    health: str
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def post(self, body: Any, secret: str | None, **headers: str) -> int:
        """POST an update as Telegram would; returns the status code."""
        if secret is not None:
            headers[SECRET_HEADER] = secret
        headers.setdefault("Content-Type", "application/json")
        async with httpx.AsyncClient() as client:
            reply = await client.post(self.url, content=json.dumps(body), headers=headers)
        return reply.status_code


@pytest.fixture
async def webhook(fake_api: FakeBotApi, services: Services) -> AsyncIterator[Webhook]:
    """The real bot in webhook mode on a loopback port, fed by HTTP posts."""
    port = free_port()
    config = WebhookConfig(
        url="https://bot.example/telegram/hook", secret=SECRET, host="127.0.0.1", port=port
    )
    stop = asyncio.Event()
    app = build_application(services, rates=FAST)
    task = asyncio.create_task(serve_webhook(app, config, stop))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.02)
    hook = Webhook(f"{base}/telegram/hook", f"{base}/healthz", stop, task)
    yield hook
    stop.set()
    await task


async def test_wrong_or_missing_secret_is_refused(webhook: Webhook, fake_api: FakeBotApi) -> None:
    """A post without the secret, or with a wrong one, gets 403 and is not handled."""
    assert await webhook.post(start_update(1), None) == 403
    assert await webhook.post(start_update(2), "wrong") == 403
    assert await webhook.post(start_update(3), SECRET[:-1]) == 403
    await asyncio.sleep(0.1)

    assert fake_api.messages_to(PATIENT) == []


async def test_right_secret_is_handled_and_replied_to(
    webhook: Webhook, fake_api: FakeBotApi
) -> None:
    """A post with the secret (JSON with a charset too) is handled; the patient gets a reply."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert await webhook.post(start_update(10), SECRET, **headers) == 200
    webhook.stop.set()
    await webhook.task  # stopping finishes the turn in progress

    assert "automated intake assistant" in fake_api.texts_to(PATIENT)[-1]
    registered = fake_api.calls_of("setWebhook")[0].params
    assert registered["url"] == "https://bot.example/telegram/hook"
    assert registered["secret_token"] == SECRET
    assert "drop_pending_updates" not in registered


async def test_health_endpoint_answers(webhook: Webhook) -> None:
    """GET /healthz answers 200 while the bot runs."""
    async with httpx.AsyncClient() as client:
        reply = await client.get(webhook.health)
    assert reply.status_code == 200
    assert reply.json()["running"] is True


async def test_malformed_body_is_a_bad_request(webhook: Webhook) -> None:
    """A body that is not an update gets 400."""
    async with httpx.AsyncClient() as client:
        reply = await client.post(webhook.url, content=b"not json", headers={SECRET_HEADER: SECRET})
    assert reply.status_code == 400


def test_listen_setting_is_host_and_port() -> None:
    """INTAKE_LISTEN reads as host:port; anything else is refused."""
    assert parse_listen("0.0.0.0:8443") == ("0.0.0.0", 8443)
    assert parse_listen("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError, match="host:port"):
        parse_listen("8080")


def test_webhook_mode_needs_a_secret() -> None:
    """INTAKE_WEBHOOK_URL without INTAKE_WEBHOOK_SECRET is a start-up problem (exit code 2)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_token="1:x",
        webhook_url="https://bot.example/telegram",
        booking_url="https://c.example/book",
        encryption_key=new_key(),
    )
    assert problems(settings, Mode(telegram=True)) == [
        "setting INTAKE_WEBHOOK_SECRET: required in webhook mode"
    ]


def test_webhook_settings_become_the_server_config() -> None:
    """With a secret, the URL's path is served on INTAKE_LISTEN; without a URL it is polling."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_token="1:x",
        webhook_url="https://bot.example/telegram",
        webhook_secret=SECRET,
        listen="0.0.0.0:8443",
    )
    config = webhook_config(settings)

    assert config is not None
    assert (config.path, config.host, config.port, config.secret) == (
        "/telegram",
        "0.0.0.0",
        8443,
        SECRET,
    )
    assert webhook_config(Settings(_env_file=None, telegram_token="1:x")) is None  # type: ignore[call-arg]


def raw_post(url: str, headers: dict[str, str], body: bytes, *, declared: int) -> bytes:
    """POST over a plain socket, declaring `declared` bytes but sending only `body`; the reply."""
    split = urlsplit(url)
    lines = [f"POST {split.path} HTTP/1.1", f"Host: {split.netloc}", f"Content-Length: {declared}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((split.hostname or "", split.port or 80), timeout=5) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return conn.recv(65536)


async def test_a_wrong_secret_is_refused_before_the_body_is_read(webhook: Webhook) -> None:
    """A post without the secret is answered 403 after its headers, whether it declares 80 MB
    or 900 KB (under the cap): the reply comes while most of the body was never sent."""
    for declared in (80 * 1024 * 1024, 900 * 1024):
        reply = await asyncio.to_thread(
            raw_post, webhook.url, {SECRET_HEADER: "wrong"}, b"x" * 1024, declared=declared
        )
        assert reply.startswith(b"HTTP/1.1 403")


async def test_a_body_over_one_megabyte_is_refused(webhook: Webhook, fake_api: FakeBotApi) -> None:
    """With the right secret, a body declared over 1 MB is refused before it is read."""
    declared = MAX_BODY + 1
    reply = await asyncio.to_thread(
        raw_post, webhook.url, {SECRET_HEADER: SECRET}, b"{", declared=declared
    )
    assert reply.startswith(b"HTTP/1.1 400")
    assert await webhook.post(start_update(30), SECRET) == 200  # the server is fine


@pytest.mark.parametrize("body", [[], None, 1, "update", {}, {"update_id": "7"}])
async def test_json_that_is_no_update_is_acknowledged_and_ignored(
    webhook: Webhook, fake_api: FakeBotApi, body: Any
) -> None:
    """`[]`, `null`, `1`, ... get 200 (an error would make Telegram resend them) and change
    nothing."""
    assert await webhook.post(body, SECRET) == 200
    assert await webhook.post(start_update(40), SECRET) == 200
    webhook.stop.set()
    await webhook.task
    assert len(fake_api.messages_to(PATIENT)) == 1  # only the real update was answered


async def test_an_update_is_committed_before_it_is_acknowledged(
    webhook: Webhook, services: Services
) -> None:
    """When the 200 arrives the update is already in the inbox (a crash now loses nothing)."""
    assert await webhook.post(start_update(50), SECRET) == 200
    with services.database.reading() as tx:
        # Any stored status will do: pending, applied (reply owed) or done.
        assert inbox.status_of(tx, update_id=50) in (inbox.PENDING, inbox.APPLIED, inbox.DONE)
    assert await webhook.post(start_update(50), SECRET) == 200  # a repeat: acknowledged


async def test_health_reports_failures_and_housekeeping(webhook: Webhook) -> None:
    """/healthz carries the counters operators watch, starting at zero."""
    async with httpx.AsyncClient() as client:
        figures = (await client.get(webhook.health)).json()
    assert figures["running"] is True
    assert figures["failed_turns"] == 0
    assert figures["unsaved_updates"] == 0
    assert set(figures) == {
        "running",
        "failed_turns",
        "failed_handlers",
        "unsaved_updates",
        "queued_updates",
        "abandoned_intakes",
        "abandoned_queued",
    }
