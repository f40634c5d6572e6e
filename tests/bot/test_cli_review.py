"""Tests of `intake-bot review` through typer's CliRunner against a real SQLite file."""

from __future__ import annotations

import csv
import getpass
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from bot.cli import app
from storage import queue
from storage.database import Database
from storage.sealing import new_key
from tests.flows.review_seed import bundled_flow, complete_answers, open_database, seed_intake


@dataclass
class Cli:
    """The CLI bound to one database and encryption key."""

    database: Database
    env: dict[str, str]
    runner: CliRunner

    def __call__(self, *args: str) -> tuple[int, str, str]:
        """Run `intake-bot <args>`: exit code, stdout, stderr."""
        result = self.runner.invoke(app, list(args), env=self.env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    def seed(self, user: int, priority: str = "routine", **kwargs: object) -> int:
        """A finished intake of the bundled flow in the queue: its review item id."""
        flow = bundled_flow()
        return seed_intake(
            self.database,
            user=user,
            priority=priority,
            flow=flow,
            answers=complete_answers(flow),
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI over a migrated database in tmp_path."""
    key = new_key()
    database = open_database(tmp_path, key=key)
    env = {"INTAKE_DATABASE_URL": database.url, "INTAKE_ENCRYPTION_KEY": key}
    return Cli(database, env, CliRunner())


def test_list_json_carries_the_contract_fields(cli: Cli) -> None:
    """`review list --json` lists items most urgent first with the documented fields."""
    routine = cli.seed(1)
    flags = [{"id": "vomit_blood", "level": "emergency"}]
    emergency = cli.seed(2, "emergency", flags=flags, status="escalated")
    code, out, _ = cli("review", "list", "--json")
    assert code == 0
    items = json.loads(out)
    assert [i["id"] for i in items] == [emergency, routine]
    first = items[0]
    assert {"id", "intake_id", "priority", "status", "telegram_user_id", "created_at"} <= set(first)
    assert first["priority"] == "emergency"
    assert first["status"] == "pending"
    assert first["telegram_user_id"] == 2
    assert first["red_flags"] == flags
    assert datetime.fromisoformat(first["created_at"]).utcoffset() is not None


def test_list_filters(cli: Cli) -> None:
    """--status and --priority narrow the list; a bad value is a clear error."""
    a = cli.seed(1)
    b = cli.seed(2, "soon")
    cli("review", "claim", str(a), "--as", "Dr Lee")
    _, out, _ = cli("review", "list", "--json", "--status", "pending")
    assert [i["id"] for i in json.loads(out)] == [b]
    _, out, _ = cli("review", "list", "--json", "--priority", "routine")
    assert [i["id"] for i in json.loads(out)] == [a]
    code, _, err = cli("review", "list", "--priority", "urgent")
    assert code == 1
    assert "unknown priority 'urgent'" in err


def test_table_output(cli: Cli) -> None:
    """Without --json the list is a table with priority words (or a line saying it is empty)."""
    assert cli("review", "list")[1].strip() == "no review items match"
    assert json.loads(cli("review", "list", "--json")[1]) == []
    cli.seed(1, "same_day", flags=[{"id": "black_stool", "level": "same_day"}])
    code, out, _ = cli("review", "list")
    assert code == 0
    assert "SAME DAY" in out
    assert "black_stool" in out


def test_show_claim_done_release_reopen(cli: Cli) -> None:
    """The item commands change the state, print a confirmation and are audited under the
    acting clinician: `--as`, with the login name when they differ."""
    item = cli.seed(5)
    code, out, _ = cli("review", "show", str(item))
    assert code == 0
    assert out.startswith("ROUTINE")
    assert "Gut symptoms:" in out
    assert "Full answers" not in out
    full = cli("review", "show", str(item), "--full")[1]
    assert f"Full answers · review #{item}" in full
    assert cli("review", "claim", str(item), "--as", "Dr Lee")[1].strip() == (
        f"review #{item} claimed by Dr Lee"
    )
    code, _, err = cli("review", "claim", str(item), "--as", "Dr Kim")
    assert code == 1
    assert f"cannot claim review item #{item}: it is claimed by Dr Lee" in err
    assert cli("review", "release", str(item), "--as", "Dr Lee")[0] == 0
    assert cli("review", "done", str(item), "--note", "booked", "--as", "Dr Kim")[0] == 0
    assert "Note: booked" in cli("review", "show", str(item))[1]
    assert cli("review", "reopen", str(item))[0] == 0
    with cli.database.transaction() as tx:
        events = queue.audit_events(tx, review_item_id=item)
    login = getpass.getuser()
    assert [e.actor for e in events] == [
        f"cli:{login}",
        f"cli:{login}",
        f"cli:Dr Lee (os:{login})",
        f"cli:Dr Kim (os:{login})",
        f"cli:Dr Lee (os:{login})",
        f"cli:Dr Kim (os:{login})",
        f"cli:{login}",
        f"cli:{login}",
    ]
    assert [e.action for e in events] == [
        "review.viewed",
        "review.viewed",
        "review.claimed",
        "review.claim_refused",
        "review.released",
        "review.reviewed",
        "review.viewed",
        "review.reopened",
    ]
    _, out, _ = cli("review", "audit", str(item))
    assert "review.claim_refused" in out


def test_export_formats(cli: Cli, tmp_path: Path) -> None:
    """Export one item as json, csv or fhir (valid R4 resources), or all as csv or json."""
    item = cli.seed(6)
    code, out, _ = cli("review", "export", str(item), "--format", "json")
    assert code == 0
    assert json.loads(out)["id"] == item
    _, out, _ = cli("review", "export", str(item), "--format", "csv")
    assert {r["step_id"] for r in csv.DictReader(io.StringIO(out))} >= {"age", "digestive"}
    target = tmp_path / "bundle.json"
    code, _, _ = cli("review", "export", str(item), "--format", "fhir", "-o", str(target))
    assert code == 0
    bundle = Bundle.model_validate_json(target.read_text())
    assert bundle.entry is not None
    assert [e.resource.get_resource_type() for e in bundle.entry] == [
        "Questionnaire",
        "QuestionnaireResponse",
    ]
    cli.seed(7)
    _, out, _ = cli("review", "export", "--all", "--format", "json")
    assert len(json.loads(out)) == 2
    _, out, _ = cli("review", "export", "--all", "--format", "csv")
    assert len({r["item_id"] for r in csv.DictReader(io.StringIO(out))}) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("review", "show", "999"), "there is no review item #999"),
        (("review", "export", "999", "--format", "json"), "there is no review item #999"),
        (("review", "export", "1", "--format", "xml"), "unknown export format 'xml'"),
        (("review", "export", "--all", "--format", "fhir"), "unknown export format 'fhir'"),
    ],
)
def test_clear_errors_without_tracebacks(cli: Cli, args: tuple[str, ...], message: str) -> None:
    """Unknown ids and bad formats give one clear line on stderr and exit code 1."""
    cli.seed(1)
    code, out, err = cli(*args)
    assert code == 1
    assert message in err
    assert "Traceback" not in out + err


def test_export_needs_an_id_or_all(cli: Cli) -> None:
    """`review export` without an id or --all is a usage error."""
    code, _, err = cli("review", "export", "--format", "json")
    assert code == 2
    assert "give an item id or --all" in err


def test_unusable_database_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    """A file that is not a database, or a missing folder, is reported without a traceback."""
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    for url in (f"sqlite:///{junk}", f"sqlite:///{tmp_path / 'missing' / 'x.db'}"):
        code, out, err = cli("review", "list", "--db", url)
        assert code == 2
        assert err.startswith("error:")
        assert "Traceback" not in out + err


def test_wrong_encryption_key_is_a_clear_error(cli: Cli) -> None:
    """Sealed data read with another key fails with a message, not a traceback."""
    item = cli.seed(1)
    cli.env["INTAKE_ENCRYPTION_KEY"] = new_key()
    code, _, err = cli("review", "show", str(item))
    assert code == 2
    assert err == (
        "error: INTAKE_ENCRYPTION_KEY does not open this database (it was sealed with another "
        "key): set the key it was sealed with; during a rotation list the new key first and "
        "the old ones after it\n"
    )


def test_done_on_another_clinicians_claim_needs_force(cli: Cli) -> None:
    """`done` (or `release`) on an item someone else claimed is refused, naming them and
    --force; with --force it is done and audited as forced over their claim."""
    item = cli.seed(3)
    cli("review", "claim", str(item), "--as", "Dr Lee")
    for args in (("done", str(item), "--as", "Dr Kim"), ("release", str(item))):
        code, _, err = cli("review", *args)
        assert code == 1
        assert "claimed by Dr Lee" in err
        assert "--force" in err
    code, out, _ = cli("review", "done", str(item), "--as", "Dr Kim", "--force", "--note", "ok")
    assert (code, out.strip()) == (0, f"review #{item} reviewed by Dr Kim")
    with cli.database.transaction() as tx:
        (event,) = queue.audit_events(tx, review_item_id=item, action="review.reviewed")
    login = getpass.getuser()
    assert (event.actor, event.detail) == (
        f"cli:Dr Kim (os:{login})",
        f"forced over cli:Dr Lee (os:{login})",
    )


def test_exports_written_to_a_file_are_private(cli: Cli, tmp_path: Path) -> None:
    """An export file is readable by its owner only (0600), even over a wider existing file."""
    item = cli.seed(4)
    target = tmp_path / "export.json"
    target.write_text("old")
    target.chmod(0o644)
    assert cli("review", "export", str(item), "-o", str(target))[0] == 0
    assert target.stat().st_mode & 0o777 == 0o600
    assert json.loads(target.read_text())["id"] == item


def test_claim_without_an_id_takes_the_next_item(cli: Cli) -> None:
    """`review claim --as NAME` claims the most urgent pending item, then reports an empty queue."""
    cli.seed(1)
    urgent = cli.seed(2, "same_day")
    code, out, _ = cli("review", "claim", "--as", "Dr Lee")
    assert (code, out.strip()) == (0, f"review #{urgent} claimed by Dr Lee")
    cli("review", "claim", "--as", "Dr Lee")
    code, _, err = cli("review", "claim", "--as", "Dr Lee")
    assert code == 1
    assert "the queue is empty" in err


def test_list_shows_the_first_page_and_says_so(cli: Cli) -> None:
    """`--limit N` lists the N most urgent items and says there may be more; 0 lists all."""
    ids = [cli.seed(user) for user in range(1, 5)]
    code, out, err = cli("review", "list", "--json", "--limit", "3")
    assert code == 0
    assert [i["id"] for i in json.loads(out)] == ids[:3]
    _, out, _ = cli("review", "list", "--json", "--limit", "0")
    assert [i["id"] for i in json.loads(out)] == ids
    _, out, err = cli("review", "list", "--limit", "2")
    assert "the first 2; --limit N for more" in err
