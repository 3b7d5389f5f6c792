"""Prints the diff farm's summary (per config: modules, agree, mismatch, known,
inconclusive, skipped with reasons) at the end of every run that executed cases."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `tools` is imported from the checkout
    sys.path.insert(0, str(ROOT))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from test_vs_wasmtime import RESULTS
    from tools.diff_farm import farm

    reports = [v for k, v in RESULTS.items() if k != "_out"]
    if not reports:
        return
    terminalreporter.section("differential vs wasmtime (tools/diff_farm)")
    for line in farm.summary([farm.ledger_line(r, o) for r, o in reports]).splitlines():
        terminalreporter.write_line(line)
