"""Button payloads: base-36 numbers without leading zeros, read back to the same button, for
random actions, sessions (up to the largest id), steps, options and languages."""

from __future__ import annotations

import random

from flows.engine.conversation.buttons import (
    LARGEST_SESSION_ID,
    Button,
    ButtonAction,
    decode,
    encode,
)

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def test_payloads_name_numbers_in_base_36_and_read_back() -> None:
    rng = random.Random(5)
    for _ in range(20_000):
        session = rng.choice([0, rng.randrange(2000), rng.randrange(LARGEST_SESSION_ID + 1)])
        language = rng.choice([None, "es"]) if session == 0 else None
        button = Button(
            rng.choice(list(ButtonAction)),
            session,
            rng.randrange(5000),
            rng.randrange(50),
            language,
        )
        payload = encode(button)
        numbers = payload.split(":")[1:4]
        assert [int(n, 36) for n in numbers] == [session, button.step_index, button.option_index]
        assert all(set(n) <= set(DIGITS) and (n == "0" or n[0] != "0") for n in numbers)
        assert decode(payload) == button


def test_edge_numbers_and_unknown_actions() -> None:
    for number in [0, 1, 35, 36, 1295, 1296, 36**3, 36**6 - 1, LARGEST_SESSION_ID]:
        payload = encode(Button(ButtonAction.CHOOSE, number, number % 997, 0))
        assert int(payload.split(":")[1], 36) == number
    assert encode(Button(ButtonAction.DONE, 0, 0, 0)) == "d:0:0:0"
    assert decode("q:1:2:3") is None
    assert decode("c:1:2") is None
