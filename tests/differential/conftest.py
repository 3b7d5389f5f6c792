"""Prints the differential totals at the end of every run that executed cases:
modules compared, skipped (with reasons), inconclusive, mismatched; calls and traps."""

from __future__ import annotations

from collections import Counter

from diff_harness import REPORTS


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not REPORTS:
        return
    tr = terminalreporter
    tr.section("differential vs wasmtime")
    status = Counter(r.status for r in REPORTS.values())
    traps: Counter = Counter()
    for r in REPORTS.values():
        traps.update(r.traps)
    calls = sum(r.calls for r in REPORTS.values())
    returned = sum(r.returned for r in REPORTS.values())
    compared = status["ok"] + status["mismatch"] + status["inconclusive"]
    tr.write_line(
        f"{len(REPORTS)} seeds: {compared} modules compared ({status['ok']} agree, "
        f"{status['mismatch']} mismatch, {status['inconclusive']} inconclusive), "
        f"{status['skipped']} skipped, {status['error']} errors, {status['nomodule']} without a module")
    tr.write_line(f"{calls} calls: {returned} returned, {calls - returned} trapped alike")
    for text, n in traps.most_common():
        tr.write_line(f"  {n:6}  {text}")
    reasons = Counter(r.reason for r in REPORTS.values() if r.status == "skipped")
    for reason, n in reasons.most_common():
        tr.write_line(f"skipped {n}: {reason}")
    for r in sorted(REPORTS.values(), key=lambda r: r.seed):
        if r.status in ("inconclusive", "mismatch", "error"):
            tr.write_line(f"{r.status} seed {r.seed}: {r.reason}")
