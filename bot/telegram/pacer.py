"""Pacing of outgoing Bot API requests: about one message a second per chat, ~30 overall.

`Pacer` is PTB's rate-limiter seam (`BaseRateLimiter`): every request except `getUpdates`
passes through it. Requests naming a chat take a slot from that chat's bucket (one a second,
short bursts allowed; groups get Telegram's 20 a minute) and then from the global bucket.
Buckets are GCRA reservations: each caller is told when its slot is and sleeps until then, so
callers are served in order without a background task. A `RetryAfter` from Telegram pauses
every request for the time Telegram asks, then the request is tried again; a network error or
a 5xx is retried after a short backoff (a reply committed by the service is owed to the
patient; a rare duplicate beats a lost question). `AIORateLimiter`
does the global part only, hence this class.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

_LOG = logging.getLogger(__name__)
JSON = bool | dict[str, Any] | list[dict[str, Any]]
UNPACED = frozenset({"answerCallbackQuery", "getMe", "setMyCommands", "sendChatAction"})
_PRUNE_AT = 1024  # buckets kept before idle ones are dropped


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-chat and overall limits, in messages per second, with burst sizes."""

    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_per_second: float = 20 / 60
    overall_per_second: float = 29.0
    overall_burst: int = 29
    retries: int = 3
    network_backoff: float = 0.5  # seconds before the first retry after a network error


class _Bucket:
    """A GCRA token bucket that hands out send times instead of refusing."""

    __slots__ = ("interval", "tat", "tolerance")

    def __init__(self, per_second: float, burst: int) -> None:
        self.interval = 1.0 / per_second
        self.tolerance = self.interval * (burst - 1)
        self.tat = 0.0

    def reserve(self, now: float) -> float:
        """Book the next slot and return how long to wait for it."""
        send_at = max(now, self.tat - self.tolerance)
        self.tat = max(self.tat, send_at) + self.interval
        return send_at - now

    def idle(self, now: float) -> bool:
        """Whether the bucket is full again (it can be forgotten)."""
        return self.tat <= now


class Pacer(BaseRateLimiter[int]):
    """Per-chat and global pacing with `RetryAfter` honoured; rate_limit_args = retries."""

    def __init__(self, rates: Rates | None = None) -> None:
        self.rates = rates or Rates()
        self._overall = _Bucket(self.rates.overall_per_second, self.rates.overall_burst)
        self._chats: dict[int | str, _Bucket] = {}
        self._paused_until = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        """Wait for the chat's and the overall slot, then call; retry after a `RetryAfter`."""
        retries = self.rates.retries if rate_limit_args is None else rate_limit_args
        chat = data.get("chat_id")
        for attempt in range(retries + 1):
            await self._wait_for_pause()
            if endpoint not in UNPACED and chat is not None:
                await self._wait_for_slot(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                delay = _seconds(exc)
                _LOG.info("telegram asked to wait: endpoint=%s seconds=%.1f", endpoint, delay)
                self._paused_until = max(self._paused_until, time.monotonic() + delay)
            except NetworkError as exc:  # a 5xx or a dropped connection: the reply is owed
                if isinstance(exc, BadRequest) or attempt == retries:
                    raise
                _LOG.info("retrying %s after %s", endpoint, type(exc).__name__)
                await asyncio.sleep(self.rates.network_backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait_for_pause(self) -> None:
        while (delay := self._paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    async def _wait_for_slot(self, chat: object) -> None:
        now = time.monotonic()
        delay = self._chat_bucket(chat, now).reserve(now)
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        delay = self._overall.reserve(now)
        if delay > 0:
            await asyncio.sleep(delay)

    def _chat_bucket(self, chat: object, now: float) -> _Bucket:
        key = chat if isinstance(chat, int | str) else str(chat)
        bucket = self._chats.get(key)
        if bucket is None:
            if len(self._chats) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._chats[key] = self._new_bucket(key)
        return bucket

    def _new_bucket(self, key: int | str) -> _Bucket:
        group = isinstance(key, str) or key < 0
        if group:
            return _Bucket(self.rates.group_per_second, self.rates.chat_burst)
        return _Bucket(self.rates.chat_per_second, self.rates.chat_burst)

    def _prune(self, now: float) -> None:
        for key in [k for k, b in self._chats.items() if b.idle(now)]:
            del self._chats[key]


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        after = exc.retry_after
    return after if isinstance(after, int | float) else after.total_seconds()
