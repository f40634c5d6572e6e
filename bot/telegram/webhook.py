"""Webhook mode: a small tornado server that takes Telegram's posts and serves a health check.

PTB's own webhook server cannot serve a health endpoint, rejects a JSON content type with a
charset and logs the received update on errors, so this one replaces it. `POST <path>` (the
path of `INTAKE_WEBHOOK_URL`) checks the `X-Telegram-Bot-Api-Secret-Token` header in constant
time (403 otherwise) and queues the update for the `Application`; `GET /healthz` answers 200
while the application runs, 503 otherwise. Nothing of a request body is ever logged.
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

from bot.telegram.application import AnyApplication

_LOG = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name, not a secret)
HEALTH_PATH = "/healthz"


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


class UpdateReceiver(tornado.web.RequestHandler):
    """Accepts Telegram's webhook posts."""

    def initialize(self, app: AnyApplication, secret: str) -> None:
        """Tornado's per-request setup: the application to feed and the secret to check."""
        self.app = app
        self.secret = secret

    async def post(self) -> None:
        """Check the secret, parse the update and queue it."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        try:
            update = Update.de_json(json.loads(self.request.body), self.app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            _LOG.warning("webhook body rejected: %s", type(exc).__name__)
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        await self.app.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: object) -> None:
        """Tornado would log the request; the status code says enough."""


class Health(tornado.web.RequestHandler):
    """Answers load balancers and orchestrators."""

    def initialize(self, app: AnyApplication) -> None:
        """Tornado's per-request setup."""
        self.app = app

    def get(self) -> None:
        """200 while the application is running, 503 otherwise."""
        self.set_status(HTTPStatus.OK if self.app.running else HTTPStatus.SERVICE_UNAVAILABLE)
        self.finish({"running": self.app.running})


def webhook_server(
    app: AnyApplication,
    config: WebhookConfig,
) -> tornado.httpserver.HTTPServer:
    """A started HTTP server feeding `app` (call `.stop()` to stop accepting)."""
    routes = tornado.web.Application(
        [
            (HEALTH_PATH, Health, {"app": app}),
            (config.path, UpdateReceiver, {"app": app, "secret": config.secret}),
        ]
    )
    server = tornado.httpserver.HTTPServer(routes)
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
