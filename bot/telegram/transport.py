"""The HTTP transport to the Bot API: python-telegram-bot's `BaseRequest` over aiohttp.

PTB's default transport (httpx) spent about 4 ms of CPU per Bot API call here with many
patients answering at once (httpcore re-scans its whole connection pool for every request);
aiohttp spent about 0.25 ms on the same calls (3,000 concurrent POSTs to a server on
loopback). An intake turn makes two or three calls, so the transport decides throughput.

Errors carry the exception class only: aiohttp messages can hold the request URL, and the
URL holds the bot token.
"""

from __future__ import annotations

from functools import lru_cache

import aiohttp
from telegram._utils.types import ODVInput  # the type PTB's own transports use
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

DEFAULT_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0
FORM = "application/x-www-form-urlencoded"
Timeout = aiohttp.ClientTimeout
_ALWAYS_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
# Each byte as `urllib.parse.quote_plus` writes it: safe as itself, space as +, else %XX.
_QUOTED = [
    "+" if byte == 0x20 else chr(byte) if byte in _ALWAYS_SAFE else f"%{byte:02X}"
    for byte in range(256)
]


class AiohttpRequest(BaseRequest):
    """Bot API requests over one pooled aiohttp session."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 8,
        read_timeout: float | None = DEFAULT_TIMEOUT,
        connect_timeout: float | None = DEFAULT_TIMEOUT,
        pool_timeout: float | None = None,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds a long poll's own timeout to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the connection pool."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        """Close the connection pool."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; the status code and body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = _timeout(
            _given(read_timeout, self._read_timeout),
            _given(connect_timeout, self._connect_timeout),
            _given(pool_timeout, self._pool_timeout),
        )
        try:
            async with self._session.request(
                method,
                url,
                data=_body(request_data),
                headers=_headers(request_data, self.USER_AGENT),
                timeout=timeout,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}") from err


@lru_cache(maxsize=64)
def _timeout(read: float | None, connect: float | None, pool: float | None) -> Timeout:
    """The timeouts of a request (a few combinations, each built once)."""
    return aiohttp.ClientTimeout(sock_read=read, sock_connect=connect, connect=pool)


def _given(value: object, default: float | None) -> float | None:
    """A timeout passed by the caller, else the default (PTB marks "not given" specially)."""
    if isinstance(value, int | float) or value is None:
        return None if value is None else float(value)
    return default


def _headers(request_data: RequestData | None, agent: str) -> dict[str, str]:
    if request_data is None or request_data.contains_files:
        return {"User-Agent": agent}
    return {"User-Agent": agent, "Content-Type": FORM}


def _body(request_data: RequestData | None) -> aiohttp.FormData | bytes | None:
    """Form fields, encoded here, or a multipart form when files are sent.

    A dict would make aiohttp build a `FormData` and a `MultipartWriter` (with a uuid4
    boundary) for every call only to url-encode it in the end: 2-3% of the bot's CPU.
    """
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return form_encoded(fields)
    form = aiohttp.FormData(fields)
    for name, part in request_data.multipart_data.items():
        filename, content, mimetype = part[0], part[1], part[2] if len(part) > 2 else None
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def form_encoded(fields: dict[str, str]) -> bytes:
    """The body `urllib.parse.urlencode(fields)` gives, byte for byte, at about twice its speed.

    `urlencode` quotes a value a byte at a time in Python, 2% of the bot's CPU; here the UTF-8
    bytes, read as Latin-1 (one character per byte), go through `str.translate` with a table.
    """
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in fields.items()).encode(
        "ascii"
    )


def _quoted(text: str) -> str:
    return text.encode().decode("latin-1").translate(_QUOTED)
