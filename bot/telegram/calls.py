"""Bot API calls made straight from their fields, for the calls every turn makes.

A send, an edit or a button's answer made through `Bot.do_api_request` or a `Bot` method passes
five layers of python-telegram-bot: the method-name check (with its warning), defaults, `None`
filtering, a `RequestParameter` built by inspecting each field's type, then `RequestData`.
`call` keeps the two steps that decide what happens: the bot's rate limiter
(`ExtBot.rate_limiter`, given the endpoint and fields PTB would give it) and `BaseRequest.post`
(PTB's errors from the status code, the JSON `result`). Fields are encoded as PTB encodes them
(`RequestParameter.json_value`): strings as they are, python-telegram-bot objects as the JSON
of `to_dict()`, other values as JSON; `None` fields are left out. So the endpoint, the
parameters and the bytes sent are the same as through PTB's methods. (PTB asks that
`Bot.request` not be used by hand; this is the one place that does, for these calls.)
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Bot, TelegramObject
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter  # what RequestData holds


async def call(bot: Bot, endpoint: str, **fields: object) -> Any:
    """Make one Bot API call (`None` fields left out) through the bot's rate limiter; its result."""
    given = {name: value for name, value in fields.items() if value is not None}
    limiter = getattr(bot, "rate_limiter", None)  # an ExtBot's, as its own calls use it
    if limiter is None:
        return await _post(bot, endpoint, given)
    return await limiter.process_request(
        callback=_post,
        args=(bot, endpoint, given),
        kwargs={},
        endpoint=endpoint,
        data=given,
        rate_limit_args=None,
    )


async def _post(bot: Bot, endpoint: str, given: dict[str, object]) -> Any:
    parameters = [RequestParameter(name, encoded(value), None) for name, value in given.items()]
    body = RequestData(parameters)
    return await bot.request.post(url=f"{bot.base_url}/{endpoint}", request_data=body)


def encoded(value: object) -> str:
    """A field's value as python-telegram-bot sends it (`RequestParameter.json_value`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, TelegramObject):
        return json.dumps(value.to_dict())
    return json.dumps(value)
