"""Stored flow versions: the exact source of every version an intake started on, kept for good.

A version is its number and the sha256 of its source. `pin` stores a flow's source (sealed,
see `storage.policy`) the first time its (id, version) is used and refuses a file whose
content differs from the stored copy under the same number, with one line saying how to bump
it; a stored copy is never replaced, whether or not intakes are in progress on it.
`stored_snapshot` reads a stored copy back; messages that later releases added to the format
(and an old copy lacks) are filled in from the current flow of the same id, in this one place.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from ruamel.yaml import YAML
from sqlalchemy.exc import IntegrityError

from flows.engine.format.messages import Messages
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.loader import LoadedFlow
from storage.database import Database
from storage.intakes import store_flow, stored_flow

log = logging.getLogger(__name__)

_VERSION_LINE = re.compile(r"^version\s*:", re.MULTILINE)


def pin(database: Database, loaded: LoadedFlow) -> None:
    """Store `loaded` as its version, or check it is the very version already stored."""
    flow = loaded.flow
    for attempt in (1, 2):
        try:
            with database.transaction() as session:
                row = stored_flow(session, flow_id=flow.id, version=flow.version)
                if row is None:
                    store_flow(
                        session,
                        flow_id=flow.id,
                        version=flow.version,
                        digest=loaded.digest,
                        source=loaded.source,
                        sealer=database.sealer,
                    )
                    log.info("flow.stored flow=%s version=%s", flow.id, flow.version)
                    return
                stored_digest = row.digest
            break
        except IntegrityError:  # another process stored this version at the same moment
            if attempt == 2:
                raise
    if stored_digest != loaded.digest:
        raise FlowError([changed_without_bump(loaded, stored_digest)])


def changed_without_bump(loaded: LoadedFlow, stored_digest: str) -> Problem:
    """The one-line refusal of a changed file that kept its version number."""
    flow = loaded.flow
    return Problem(
        loaded.file,
        version_line(loaded.source),
        f"flow '{flow.id}' version {flow.version} is already stored with other content "
        f"(stored {stored_digest[:12]}, this file {loaded.digest[:12]}); a changed flow needs "
        f"a new version: run `intake-bot flows bump {loaded.file}`",
    )


def version_line(source: str) -> int:
    """The 1-based line of the top-level `version:` key (1 if there is none)."""
    found = _VERSION_LINE.search(source)
    return source.count("\n", 0, found.start()) + 1 if found else 1


def stored_snapshot(database: Database, flow_id: str, version: int, current: Flow) -> Flow:
    """A stored flow version, its missing messages filled from `current` (same id)."""
    with database.reading() as session:  # may run inside a turn's transaction
        row = stored_flow(session, flow_id=flow_id, version=version)
    if row is None:
        raise LookupError(f"flow {flow_id} version {version} is not stored")
    data = YAML(typ="safe").load(io.StringIO(database.sealer.unseal(row.source)))
    return Flow.model_validate(with_current_messages(data, current))


def with_current_messages(data: Any, current: Flow) -> Any:
    """`data` (a stored flow) with every message it lacks taken from `current`, if same id."""
    if not isinstance(data, dict) or data.get("id") != current.id:
        return data
    messages = data.get("messages")
    if not isinstance(messages, dict):
        return data
    missing = [name for name in Messages.model_fields if name not in messages]
    if not missing:
        return data
    log.info(
        "flow.messages_filled flow=%s version=%s from_version=%s count=%d",
        current.id,
        data.get("version"),
        current.version,
        len(missing),
    )
    filled = {name: getattr(current.messages, name) for name in missing}
    return {**data, "messages": {**messages, **filled}}
