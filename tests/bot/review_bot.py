"""Running the real bot with the clinician side plugged in, against the fake Bot API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.composition import Services, build_services
from bot.telegram.application import build_application
from bot.telegram.pacer import Rates
from bot.telegram.review_plugin import review_plugin
from flows.review.outbox import ReviewOutbox
from tests.bot.conftest import FAST, RunningBot, make_settings, run_app
from tests.bot.fake_bot_api import FakeBotApi

REVIEW_CHAT = -1001234
CLINICIAN = 900
OTHER_CLINICIAN = 901
STRANGER = 777


def review_services(fake: FakeBotApi, db: Path, *, base: float = 0.2, **overrides: Any) -> Services:
    """Services with a review chat and two clinicians; fast backoff unless `base` is given."""
    values: dict[str, Any] = {
        "review_chat_id": REVIEW_CHAT,
        "clinician_ids": f"{CLINICIAN},{OTHER_CLINICIAN}",
        **overrides,
    }
    services = build_services(make_settings(fake, db, **values))
    services.review_outbox = ReviewOutbox(
        database=services.database,
        flows=services.review_outbox.flows,
        full_cards=services.review_outbox.full_cards,
        base=base,
        cap=base * 4,
    )
    return services


async def start_review_bot(
    fake: FakeBotApi, services: Services, *, rates: Rates | None = FAST, poll: float = 0.2
) -> RunningBot:
    """Build and start the Application with the review plugin (worker included)."""
    plugin = review_plugin(services, poll=poll)
    app = build_application(
        services,
        rates=rates,
        extra_handlers=plugin.handlers,
        post_init_hooks=plugin.post_init,
        post_stop_hooks=plugin.post_stop,
    )
    return await run_app(app, fake, services)


async def stop_review_bot(bot: RunningBot) -> None:
    """Stop the worker, polling and the Application."""
    assert bot.app.updater is not None
    await bot.app.updater.stop()
    await bot.app.stop()
    if bot.app.post_stop is not None:
        await bot.app.post_stop(bot.app)
    await bot.app.shutdown()


async def wait_until(check: Callable[[], object], timeout: float = 10.0) -> float:
    """Wait until `check()` is truthy; the seconds it took (TimeoutError after `timeout`)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - start
