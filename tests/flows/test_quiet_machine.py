"""State changes are not logged at INFO: thousands of lines an hour that nobody needs."""

from __future__ import annotations

import logging

import pytest

from flows.intake.service import IntakeService
from tests.conftest import say


def test_turns_log_no_state_changes_at_info(
    service: IntakeService, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        say(service, 7, "/start")
        say(service, 7, "I agree")
        say(service, 7, "yes")
    assert [r for r in caplog.records if r.name.startswith("transitions")] == []
    assert logging.getLogger("transitions").getEffectiveLevel() == logging.WARNING
