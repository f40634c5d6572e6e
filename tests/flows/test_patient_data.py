"""A patient's own data on a real, keyed SQLite file: /delete erases every row about them (a
test walks every table and column, opening sealed values too), a legal retention duty keeps
only reviewed intakes and says so, /mydata shows every intake, and declining says the truth."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect, text

from bot.composition import Services, build_services
from flows.engine.conversation.values import Action, ActionKind, Inbound, Profile, Turn
from flows.engine.loading.loader import LoadedFlow
from storage import messages
from storage.policy import columns_of
from storage.sealing import new_key
from storage.tables import utcnow
from tests.conftest import make_settings
from tests.flows.bundled_scenarios import typed_lines_of

CANARY = "Wombatcanary3307"
PHONE = "+447700903307"
FLAGGED = f"{CANARY} bloating, and my eyes have gone yellow {CANARY}"  # a same-day flag
PATIENT = 5_222_333_444
OTHER = 5_777_888_999
ROUTINE = typed_lines_of("routine")
WARNING_SIGNS = 8  # the line of routine.txt answering the warning-signs checklist
CONCERN = 9


class Patient:
    """One Telegram user talking to the service, with update ids and a profile."""

    def __init__(self, services: Services, user: int, name: str) -> None:
        self.services, self.user = services, user
        self.profile = Profile(display_name=name, username=name.lower().replace(" ", "_"))
        self.update_id = user % 1000 * 1000
        self.turn = Turn()

    def act(self, action: Action) -> Turn:
        """One update from this patient."""
        self.update_id += 1
        inbound = Inbound(self.user, action, update_id=self.update_id, profile=self.profile)
        self.turn = self.services.intake.handle_sync(inbound)
        return self.turn

    def type(self, *lines: str) -> Turn:
        """Type lines ('/skip' presses Skip on the current question)."""
        for line in lines:
            if line == "/skip":
                index = self.turn.prompts[-1].step_index
                self.act(Action(ActionKind.SKIP, session_id=self.turn.session_id, step_index=index))
            else:
                self.act(Action(ActionKind.TEXT, text=line))
        return self.turn

    def complete(self, concern: str, warning: str = "None of these") -> Turn:
        """A whole intake with this concern and warning-signs answer."""
        lines = list(ROUTINE)
        lines[CONCERN], lines[WARNING_SIGNS] = concern, warning
        return self.type(*lines)


def keyed_services(database_url: str, flow: LoadedFlow, **settings: Any) -> Services:
    """Services on a keyed database."""
    values = {"encryption_key": new_key(), **settings}
    return build_services(make_settings(database_url, **values), active=flow)


@pytest.fixture
def services(database_url: str, bundled_flow: LoadedFlow) -> Iterator[Services]:
    """Keyed services with no legal retention duty."""
    built = keyed_services(database_url, bundled_flow)
    yield built
    built.close()


def history_of(services: Services, patient: Patient) -> int:
    """Give a patient a full history: a cancelled intake, a reviewed flagged one (the canary in
    a flag's evidence) with a call-back number and a note, a denied clinician command, a notice
    and a clinician's private messages; the item id."""
    patient.type("I agree", "44", "Female", f"{CANARY} typed at the wrong question")
    patient.act(Action(ActionKind.RESTART))
    assert patient.complete(FLAGGED, "Food sticking").ended
    assert services.intake.save_contact_sync(user_id=patient.user, phone=PHONE) == "completed"
    patient.act(Action(ActionKind.TEXT, text=f"{CANARY} after the end"))
    review = services.review
    [item] = [r for r in review.list_items("cli:dr") if r.telegram_user_id == patient.user]
    review.claim("clinician:900", item.item_id, name="Dr Ames")
    review.done("clinician:900", item.item_id, name="Dr Ames", note=f"{CANARY} note")
    review.deny_user(patient.user, "/queue")
    with services.database.transaction() as tx:
        messages.remember_message(
            tx, item_id=item.item_id, chat_id=-100, message_id=7, kind=messages.NOTICE
        )
    review.sent_privately(item.item_id, 900, [8, 9], "summary")
    services.intake.patients.copy(user_id=patient.user)
    return item.item_id


def traces_of(services: Services, user: int) -> list[str]:
    """Every form of a Telegram id that identifies its owner: the id, plain hashes of it
    (no key needed to compute them), and its keyed hashes under the configured key."""
    raw = str(user).encode()
    plain = [hashlib.new(name, raw).hexdigest() for name in ("md5", "sha1", "sha256")]
    keyed = [str(h) for h in services.database.sealer.legacy_lookup_hashes(user)]
    return [str(user), *plain, *keyed]


def every_value(services: Services) -> list[tuple[str, str, str]]:
    """(table, column, value) for every non-null cell of every table; sealed cells opened."""
    engine, sealer = services.database.engine, services.database.sealer
    sealed = columns_of("sealed")
    found = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for column, value in row._mapping.items():
                    if value is None:
                        continue
                    found.append((table, column, str(value)))
                    if column in sealed.get(table, []):
                        found.append((table, column, sealer.unseal(str(value))))
    return found


def test_delete_leaves_no_row_with_the_telegram_id_or_an_answer(services: Services) -> None:
    """After /delete no table holds the patient's Telegram id in any identifying form, nor
    anything they said; the other patient's data is untouched; the messages about them are
    owed a retraction; the deletion itself is audited with counts only."""
    patient, other = Patient(services, PATIENT, "Ilse Voss"), Patient(services, OTHER, "Tam Reyes")
    history_of(services, patient)
    other.complete("Bloating after bread")
    before = every_value(services)
    secrets = [*traces_of(services, PATIENT), CANARY, PHONE, "Ilse Voss", "ilse_voss"]
    assert {s for _, _, v in before for s in secrets if s in v} >= {str(PATIENT), CANARY, PHONE}
    evidence = [v for t, c, v in before if (t, c) == ("review_items", "red_flags")]
    assert any(f'yellow {CANARY}"' in v for v in evidence)  # the flag's evidence, opened

    deletion = services.intake.patients.delete(user_id=PATIENT)

    assert deletion.deleted
    assert deletion.message == services.intake.message("deleted")
    after = every_value(services)
    leaks = [(t, c) for t, c, v in after for s in secrets if s in v]
    assert leaks == []
    assert any("Bloating after bread" in v for _, _, v in after)  # the other patient stays
    assert [r.telegram_user_id for r in services.review.list_items("cli:dr")] == [OTHER]
    with services.database.engine.connect() as connection:
        retract = connection.execute(text("SELECT count(*) FROM outbox WHERE topic = 'retract'"))
        detail = connection.execute(
            text("SELECT detail FROM audit_events WHERE action = 'patient.deleted'")
        ).scalar_one()
    assert retract.scalar_one() == 3
    assert detail.startswith("sessions=2 review_items=1 messages=3 updates=")
    assert patient.type("hello").prompts[-1].step == "consent"  # a stranger to the bot now


def test_a_legal_duty_keeps_reviewed_intakes_and_says_so(
    database_url: str, bundled_flow: LoadedFlow
) -> None:
    """With INTAKE_LEGAL_RETENTION_DAYS, /delete keeps the intake a clinician reviewed (sealed,
    detached from the Telegram id) and erases the rest; the patient is told how many and
    until when; nothing finds them by their id any more."""
    services = keyed_services(database_url, bundled_flow, legal_retention_days=3650)
    try:
        patient = Patient(services, PATIENT, "Ilse Voss")
        item_id = history_of(services, patient)
        deletion = services.intake.patients.delete(user_id=PATIENT)
        until = (utcnow().date()).replace(year=utcnow().year + 10)
        assert deletion.kept == 1
        expected = services.registry.active.message("deleted_kept", count=1, until="X")
        head, tail = expected.split("X")
        assert deletion.message.startswith(head)
        assert deletion.message.endswith(tail)
        kept_until = deletion.message[len(head) : len(deletion.message) - len(tail)]
        assert abs((until - _date(kept_until)).days) <= 3
        [record] = services.review.list_items("cli:dr")
        assert (record.item_id, record.telegram_user_id) == (item_id, PATIENT)  # the record
        with services.database.engine.connect() as connection:
            sessions = connection.execute(text("SELECT status FROM intake_sessions")).all()
            hashes = connection.execute(text("SELECT telegram_id_hash FROM patients")).all()
        assert [s for (s,) in sessions] == ["completed"]
        assert all(h < 0 for (h,) in hashes)
        assert services.intake.patients.copy(user_id=PATIENT) == [
            services.intake.message("mydata_empty")
        ]
    finally:
        services.close()


def _date(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value)


def test_mydata_shows_every_intake_and_the_name(services: Services) -> None:
    """/mydata lists the Telegram name and username, then every intake with its answers."""
    patient = Patient(services, PATIENT, "Ilse Voss")
    patient.type("I agree", "44")
    patient.act(Action(ActionKind.RESTART))
    patient.type("I agree", "45", "Female")
    lines = services.intake.patients.copy(user_id=PATIENT)
    today = utcnow().date().isoformat()
    assert lines[0] == services.intake.message("mydata_header")
    assert lines[1] == services.registry.active.message(
        "mydata_profile", name="Ilse Voss", username="@ilse_voss"
    )
    headers = [n for n, line in enumerate(lines) if line.endswith(f"{today}:")]
    assert len(headers) == 2
    assert any(line.endswith(": 44 years") for line in lines[headers[0] : headers[1]])
    assert any(line.endswith(": 45 years") for line in lines[headers[1] :])
    assert any(line.endswith(": Female") for line in lines[headers[1] :])


def test_mydata_shows_the_words_behind_a_flag_and_the_call_back_number(
    services: Services,
) -> None:
    """The patient's own words kept as a flag's evidence, and the number they shared, are
    part of what /mydata returns (and nothing of them is there for a stranger)."""
    patient = Patient(services, PATIENT, "Ilse Voss")
    assert patient.complete(FLAGGED).ended
    services.intake.save_contact_sync(user_id=PATIENT, phone=PHONE)
    lines = services.intake.patients.copy(user_id=PATIENT)
    words = lines.index(services.intake.message("mydata_words"))
    assert lines[words + 1].startswith(f'"and my eyes have gone yellow {CANARY}" (')
    assert services.registry.active.message("mydata_callback", phone=PHONE) in lines
    assert services.intake.patients.copy(user_id=OTHER) == [services.intake.message("mydata_empty")]


def test_declining_says_the_truth(services: Services) -> None:
    """A first-timer who declines hears nothing was stored; someone with a stored intake who
    declines a new one hears that their earlier answers are still stored, and how to delete."""
    stranger = Patient(services, OTHER, "Tam Reyes")
    turn = stranger.type("No, thanks")
    kept = services.intake.message("declined_data_kept")
    assert turn.ended
    assert kept not in [p.text for p in turn.prompts]
    patient = Patient(services, PATIENT, "Ilse Voss")
    patient.complete("Bloating after bread")
    patient.act(Action(ActionKind.RESTART))
    turn = patient.type("No, thanks")
    assert turn.prompts[-1].text == kept
    assert "/delete" in kept
