"""Webhook mode: a small tornado server that takes Telegram's posts and serves a health check.

PTB's own webhook server cannot serve a health endpoint, rejects a JSON content type with a
charset, buffers bodies of up to 100 MB before checking anything and logs the received update on
errors, so this one replaces it. `POST <path>` (the path of `INTAKE_WEBHOOK_URL`) checks the
`X-Telegram-Bot-Api-Secret-Token` header in constant time before reading the body (403
otherwise, and the body is never read), reads at most `MAX_BODY` bytes (1 MB; Telegram's
updates are a few KB), commits the update to the inbox and only then answers 200, so an
update Telegram was told about is never lost. JSON that is not an update (`[]`, `null`, `1`,
an object without an update id) gets 200 and is ignored: an error status would only make
Telegram send it again. `GET /healthz` answers 200 while the application runs (503 otherwise),
with the counts of failed turns and housekeeping (`bot.telegram.housekeeping.Vitals`).
Nothing of a request body is ever logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web
from telegram import Update

from bot.telegram.application import AnyApplication, vitals_of
from bot.telegram.inbox import InboxQueue, drop_pressed_keyboard

_LOG = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # bytes; Telegram's updates are a few KB


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where to listen, which path to serve and the secret Telegram must send."""

    url: str
    secret: str
    host: str
    port: int

    @property
    def path(self) -> str:
        """The URL's path: `https://bot.example/telegram` is served at `/telegram`."""
        return urlsplit(self.url).path or "/"


def parse_listen(listen: str) -> tuple[str, int]:
    """`host:port` as a pair (`[::1]:8080` works too)."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"INTAKE_LISTEN must be host:port, got '{listen}'")
    return host.strip("[]"), int(port)


@tornado.web.stream_request_body
class UpdateReceiver(tornado.web.RequestHandler):
    """Accepts Telegram's webhook posts."""

    def initialize(self, app: AnyApplication, queue: InboxQueue, secret: str) -> None:
        """Tornado's per-request setup: the application, its inbox queue, the secret."""
        self.app = app
        self.queue = queue
        self.secret = secret
        self.chunks: list[bytes] = []

    def prepare(self) -> None:
        """Check the secret from the headers, before a byte of the body is read."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)

    def data_received(self, chunk: bytes) -> None:
        """Collect the body (the server refuses one over MAX_BODY before reading it)."""
        self.chunks.append(chunk)

    async def post(self) -> None:
        """Parse the update, commit it to the inbox, then answer 200."""
        body = b"".join(self.chunks)
        try:
            data = json.loads(body)
        except ValueError:
            _LOG.warning("webhook body rejected: not JSON")
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        update = _update_of(data, self.app)
        if update is not None:
            await self.queue.receive(update, body)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: object) -> None:
        """Tornado would log the request; the status code says enough."""


def _update_of(data: object, app: AnyApplication) -> Update | None:
    """The update in a posted JSON value, or None for anything else (ignored)."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        _LOG.info("webhook post ignored: not an update")
        return None
    drop_pressed_keyboard(data)  # the raw body, kept for the inbox, still holds it
    try:
        return Update.de_json(data, app.bot)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        _LOG.warning("webhook update %s ignored: %s", data["update_id"], type(exc).__name__)
        return None


class Health(tornado.web.RequestHandler):
    """Answers load balancers, orchestrators and operators."""

    def initialize(self, app: AnyApplication) -> None:
        """Tornado's per-request setup."""
        self.app = app

    def get(self) -> None:
        """200 while the application is running, 503 otherwise; the vitals either way."""
        self.set_status(HTTPStatus.OK if self.app.running else HTTPStatus.SERVICE_UNAVAILABLE)
        self.finish({"running": self.app.running, **vitals_of(self.app).snapshot()})


def webhook_server(
    app: AnyApplication,
    config: WebhookConfig,
) -> tornado.httpserver.HTTPServer:
    """A started HTTP server feeding `app` (call `.stop()` to stop accepting)."""
    if not isinstance(app.update_queue, InboxQueue):
        raise TypeError("the application was not built by build_application (no inbox)")
    receiver = {"app": app, "queue": app.update_queue, "secret": config.secret}
    routes = tornado.web.Application(
        [(HEALTH_PATH, Health, {"app": app}), (config.path, UpdateReceiver, receiver)]
    )
    server = tornado.httpserver.HTTPServer(routes, max_body_size=MAX_BODY)
    server.listen(config.port, address=config.host)
    return server


async def serve_webhook(
    app: AnyApplication,
    config: WebhookConfig,
    stop: asyncio.Event,
) -> None:
    """Register the webhook, serve until `stop` is set, then finish the turns in progress."""
    async with app:
        await app.bot.set_webhook(
            config.url, secret_token=config.secret, allowed_updates=Update.ALL_TYPES
        )
        if app.post_init is not None:
            await app.post_init(app)
        server = webhook_server(app, config)
        await app.start()
        _LOG.info("webhook mode: listening on %s:%s%s", config.host, config.port, config.path)
        try:
            await stop.wait()
        finally:
            server.stop()
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        await server.close_all_connections()


def run_webhook(app: AnyApplication, config: WebhookConfig) -> None:
    """Serve webhook mode until SIGTERM or SIGINT; the turn in progress is finished first."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve_webhook(app, config, stop)

    asyncio.run(main())
