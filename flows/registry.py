"""Flow versions in use: the active flow from its file, older versions from the database.

Every version a session starts on is stored (its exact source) so the session finishes on it,
whatever happens to the file. Changing a file's content without a new `version` is refused
while sessions are in progress on that version; with none in progress the stored copy is
replaced. Compiled conversations are cached per (flow id, version). A registry for a channel
without buttons (`typed`) compiles each flow with its `typed_messages`.
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

from ruamel.yaml import YAML
from sqlmodel import func, select

from flows.engine.conversation.turns import Conversation
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.loader import LoadedFlow, load_flow_file, load_flows_dir
from storage.database import Database
from storage.intakes import ACTIVE, store_flow, stored_flow
from storage.tables import FlowVersion, IntakeSession

log = logging.getLogger(__name__)


class FlowRegistry:
    """The active flow and every stored version, compiled on first use."""

    def __init__(self, active: LoadedFlow, database: Database, *, typed: bool = False) -> None:
        self.active_loaded = active
        self.database = database
        self.typed = typed
        self._compiled: dict[tuple[str, int], Conversation] = {}
        self._lock = threading.Lock()
        self._pin_active()

    @property
    def active(self) -> Flow:
        """The flow new sessions start on."""
        return self.active_loaded.flow

    def active_conversation(self) -> Conversation:
        """The compiled active flow."""
        return self.get(self.active.id, self.active.version)

    def get(self, flow_id: str, version: int) -> Conversation:
        """The compiled conversation of a flow version (active or stored)."""
        key = (flow_id, version)
        with self._lock:
            if key not in self._compiled:
                flow = self._flow(flow_id, version)
                self._compiled[key] = Conversation(flow.typed_variant() if self.typed else flow)
            return self._compiled[key]

    def _flow(self, flow_id: str, version: int) -> Flow:
        if (flow_id, version) == (self.active.id, self.active.version):
            return self.active
        with self.database.reading() as session:  # may run inside a turn's transaction
            row = stored_flow(session, flow_id=flow_id, version=version)
        if row is None:
            raise LookupError(f"flow {flow_id} version {version} is not stored")
        data = YAML(typ="safe").load(io.StringIO(row.source))
        return Flow.model_validate(data)

    def _pin_active(self) -> None:
        loaded = self.active_loaded
        flow = loaded.flow
        with self.database.transaction() as session:
            row = stored_flow(session, flow_id=flow.id, version=flow.version)
            if row is None:
                store_flow(
                    session,
                    flow_id=flow.id,
                    version=flow.version,
                    digest=loaded.digest,
                    source=loaded.source,
                )
                return
            if row.digest == loaded.digest:
                return
            in_progress = session.exec(
                select(func.count())
                .select_from(IntakeSession)
                .where(
                    IntakeSession.flow_id == flow.id,
                    IntakeSession.flow_version == flow.version,
                    IntakeSession.status == ACTIVE,
                )
            ).one()
            if in_progress:
                raise FlowError([_changed_in_use(loaded, in_progress)])
            row.digest, row.source = loaded.digest, loaded.source
            session.add(row)
            log.info("flow.snapshot_replaced flow=%s version=%s", flow.id, flow.version)


def _changed_in_use(loaded: LoadedFlow, count: int) -> Problem:
    flow = loaded.flow
    return Problem(
        loaded.file,
        1,
        f"flow '{flow.id}' version {flow.version} has changed since {count} intake(s) in "
        f"progress started on it: give the edited flow a new `version` so they can finish "
        f"on the one they started",
    )


def load_active(*, flows_dir: Path, flow_id: str, flow_file: Path | None = None) -> LoadedFlow:
    """The flow to run: a given file, else the flow with `flow_id` in `flows_dir`."""
    if flow_file is not None:
        return load_flow_file(flow_file)
    flows = load_flows_dir(flows_dir)
    if flow_id not in flows:
        known = ", ".join(sorted(flows)) or "none"
        raise FlowError(
            [Problem(str(flows_dir), 1, f"no flow with id '{flow_id}' here (found: {known})")]
        )
    return flows[flow_id]


__all__ = ["FlowRegistry", "FlowVersion", "load_active"]
