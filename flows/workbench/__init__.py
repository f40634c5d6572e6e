"""The operators' workbench: scenario tests, flow diffs and drawings, all pure functions of
flow files (no database, no transport)."""
