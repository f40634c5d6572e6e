"""A round-robin HTTP proxy on loopback, standing in for the load balancer before the instances.

Each POST goes to the next instance in turn. When an instance refuses the connection (it is
dead or still starting), the request goes to the next one, as a load balancer retries a
connection it could not open; when an instance dies with the request in flight, the proxy
answers 502, as a load balancer would, and Telegram (the chaos crowd) posts the update again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import aiohttp
import tornado.httpserver
import tornado.netutil
import tornado.web

from tests.chaos.fleet import Instance

FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


@dataclass
class Proxy:
    """Forwards posts to `instances` in turn."""

    instances: list[Instance]
    port: int = 0
    forwarded: int = 0
    refused: int = 0  # connections an instance refused (tried the next)
    broken: int = 0  # requests lost with their instance (answered 502)
    _turn: itertools.count[int] = field(default_factory=itertools.count)
    _session: aiohttp.ClientSession | None = None
    _server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200),
            timeout=aiohttp.ClientTimeout(total=60, connect=2),
        )
        app = tornado.web.Application(
            [(r"/.*", _Forward, {"proxy": self})], log_function=lambda handler: None
        )
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop listening and close the client pool."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
        if self._session is not None:
            await self._session.close()

    async def forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """Send one request to the next instance that takes the connection."""
        assert self._session is not None
        for _ in range(len(self.instances)):
            instance = self.instances[next(self._turn) % len(self.instances)]
            url = f"http://127.0.0.1:{instance.port}{path}"
            try:
                async with self._session.post(url, data=body, headers=headers) as reply:
                    self.forwarded += 1
                    return reply.status, await reply.read()
            except aiohttp.ClientConnectorError:
                self.refused += 1
            except (aiohttp.ClientError, TimeoutError):
                self.broken += 1
                return 502, b""
        return 502, b""


class _Forward(tornado.web.RequestHandler):
    def initialize(self, proxy: Proxy) -> None:
        self.proxy = proxy

    async def post(self) -> None:
        headers = {k: v for k, v in self.request.headers.items() if k in FORWARDED}
        status, body = await self.proxy.forward(self.request.path, headers, self.request.body)
        self.set_status(status)
        self.finish(body)
