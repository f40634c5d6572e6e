"""The aiohttp transport to the Bot API: requests, files, and errors that never show the token."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram.transport import AiohttpRequest, form_encoded
from tests.bot.loopback import serving

TOKEN = "123456:SECRET-token"
TEXT = st.text(st.characters(exclude_categories=["Cs"]))  # any text UTF-8 can encode


@given(st.dictionaries(TEXT, TEXT, max_size=4))
def test_a_form_body_is_what_urlencode_gives(fields: dict[str, str]) -> None:
    """Every byte is quoted as `urllib.parse.urlencode` quotes it (spaces, emoji, & and =)."""
    assert form_encoded(fields) == urlencode(fields).encode("ascii")


def test_a_form_body_keeps_a_question_and_its_keyboard() -> None:
    """A real send's fields: line breaks, quotes, a check mark and JSON survive the round trip."""
    fields = {
        "chat_id": "10000007",
        "text": 'Question 2 of about 30\n\nTap "None of these" ✅ — 🙂',
        "reply_markup": '{"inline_keyboard":[[{"text":"Yes","callback_data":"c:8:r:0"}]]}',
    }
    body = form_encoded(fields)
    assert body == urlencode(fields).encode("ascii")
    assert dict(parse_qsl(body.decode("ascii"))) == fields


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[web.Request], list[bytes]]]:
    """A loopback HTTP server that records requests; `/slow` never answers in time."""
    seen: list[web.Request] = []
    bodies: list[bytes] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request)
        bodies.append(await request.read())
        if request.path.endswith("/slow"):
            await asyncio.sleep(5)
        return web.json_response({"ok": True, "result": True})

    async with serving(record) as root:
        yield f"{root}/bot{TOKEN}", seen, bodies


async def test_form_fields_are_posted_and_the_answer_returned(server) -> None:  # type: ignore[no-untyped-def]
    """Parameters go as form fields; the status and body come back."""
    base, seen, bodies = server
    request = AiohttpRequest()
    await request.initialize()
    data = RequestData([RequestParameter("chat_id", 7, None), RequestParameter("text", "hi", None)])
    status, body = await request.do_request(f"{base}/sendMessage", "POST", data)
    await request.shutdown()
    assert status == 200
    assert b'"ok": true' in body
    assert seen[0].content_type == "application/x-www-form-urlencoded"
    assert b"chat_id=7" in bodies[0]


async def test_files_are_sent_as_multipart(server) -> None:  # type: ignore[no-untyped-def]
    """A request with a file is a multipart form carrying the file's bytes."""
    base, seen, bodies = server
    request = AiohttpRequest()
    await request.initialize()
    document = InputFile(b"report-bytes", filename="r.txt", attach=True)
    data = RequestData(
        [
            RequestParameter("chat_id", 7, None),
            RequestParameter("document", document.attach_uri, [document]),
        ]
    )
    await request.do_request(f"{base}/sendDocument", "POST", data)
    await request.shutdown()
    assert seen[0].content_type == "multipart/form-data"
    assert b"report-bytes" in bodies[0]


async def test_a_refused_connection_is_a_network_error_without_the_token() -> None:
    """Nothing listening: NetworkError, and its message does not hold the URL or token."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    with pytest.raises(NetworkError) as caught:
        await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
    await request.shutdown()
    assert TOKEN not in str(caught.value)
    assert "SECRET" not in repr(caught.value)


async def test_a_slow_answer_times_out(server) -> None:  # type: ignore[no-untyped-def]
    """A read that takes longer than the read timeout raises TimedOut."""
    base, _, _ = server
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    with pytest.raises(TimedOut):
        await request.do_request(f"{base}/slow", "POST")
    await request.shutdown()


async def test_requests_need_initialize() -> None:
    """Using the transport before initialize() is a programming error, said plainly."""
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:1/x", "POST")
