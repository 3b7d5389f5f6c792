"""Prints the spec-verdict totals (per file, skips with reasons, overall) at the end
of every run that executed spec tests, whatever the -s/-q flags."""

from __future__ import annotations

from collections import Counter

import spectest


def _pct(right: int, checked: int) -> str:
    return f"{100.0 * right / checked:.2f}%" if checked else "n/a"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    _verdict_summary(terminalreporter)
    _native_summary(terminalreporter)


def _verdict_summary(terminalreporter) -> None:
    results = [spectest.RESULTS[name] for name in sorted(spectest.RESULTS, key=lambda p: (p.count("/"), p))]
    if not results:
        return
    tr = terminalreporter
    tr.section("spec verdicts")
    width = max(len(r.name) for r in results)
    tr.write_line(
        f"{'file'.ljust(width)}  {'modules':>7}  {'right':>6}  {'wrong':>5}  {'known':>5}  {'skipped':>7}  2.0-only"
    )
    skips: Counter = Counter()
    unconvertible = []
    for r in results:
        skips.update(r.skipped)
        if r.unconvertible:
            unconvertible.append(r)
            tr.write_line(f"{r.name.ljust(width)}  skipped: {r.unconvertible}")
            continue
        wrong = len(r.wrong) + r.known
        wasm2 = "yes" if r.wasm2_only else ("no" if r.wasm2_only is not None else "?")
        tr.write_line(
            f"{r.name.ljust(width)}  {r.checked:>7}  {r.right:>6}  {wrong:>5}  {r.known:>5}  "
            f"{sum(r.skipped.values()):>7}  {wasm2}"
        )

    tr.write_line("")
    for reason, count in sorted(skips.items(), key=lambda kv: (-kv[1], kv[0])):
        tr.write_line(f"skipped {count} modules: {reason}")
    if unconvertible:
        tr.write_line(f"skipped {len(unconvertible)} files that cannot be converted here (a tool is missing):")
        for r in unconvertible:
            tr.write_line(f"  {r.name}: {r.unconvertible}")

    checked = sum(r.checked for r in results)
    right = sum(r.right for r in results)
    known = sum(r.known for r in results)
    unexpected = sum(len(r.wrong) for r in results)
    v2 = [r for r in results if r.wasm2_only]
    v2_checked = sum(r.checked for r in v2)
    v2_right = sum(r.right for r in v2)
    tr.write_line(
        f"spec verdicts: {len(results)} files, {checked} modules checked, {right} right ({_pct(right, checked)}), "
        f"{checked - right} wrong ({known} known, {unexpected} unexpected), {sum(skips.values())} modules and "
        f"{len(unconvertible)} files skipped"
    )
    tr.write_line(
        f"spec verdicts, WebAssembly 2.0-only files: {len(v2)} files, {v2_checked} modules checked, "
        f"{v2_right} right ({_pct(v2_right, v2_checked)})"
    )


def _native_summary(terminalreporter) -> None:
    _scripts_summary(terminalreporter, "test_spec_native", "NATIVE_RESULTS",
                     "spec scripts on native code")
    _scripts_summary(terminalreporter, "test_spec_qemu_aarch64", "AARCH64_RESULTS",
                     "spec scripts on aarch64 (test executables under qemu)")


def _scripts_summary(terminalreporter, module: str, variable: str, title: str) -> None:
    """Per file: passed, failed, known failures (listed in known_failures.txt) and
    skipped commands; then every skip reason and known failure, counted."""
    import sys

    if module not in sys.modules:
        return
    results = getattr(sys.modules[module], variable)
    if not results:
        return
    tr = terminalreporter
    tr.section(title)
    totals = [0, 0, 0, 0]
    reasons: Counter = Counter()
    known: list[str] = []
    skipped_files = []
    for name in sorted(results, key=lambda p: (p.count("/"), p)):
        run = results[name]
        if isinstance(run, str):  # a file that could not be converted
            skipped_files.append(f"{name}: {run}")
            tr.write_line(f"{name}: skipped: {run}")
            continue
        counts = run.counts
        totals = [t + c for t, c in zip(totals, counts)]
        reasons.update(o.detail.split(" (")[0] for o in run.result.outcomes if o.kind == "skipped")
        known += [f"{name}:{o.line}: {o.command}: {k.reason}" for o, k in run.known]
        tr.write_line(f"{name}: {counts[0]} passed, {counts[1]} failed, {counts[2]} known "
                      f"failures, {counts[3]} skipped")
    for reason, n in reasons.most_common():
        tr.write_line(f"skipped {n} commands: {reason}")
    for line in known:
        tr.write_line(f"known failure {line}")
    tr.write_line(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} known failures, "
                  f"{totals[3]} skipped commands; {len(skipped_files)} files skipped")
