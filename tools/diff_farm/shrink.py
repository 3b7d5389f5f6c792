"""Shrinking a finding with `wasm-tools shrink`.

    python -m tools.diff_farm.shrink OUT/repros/<config>-<seed>-<variant> [--seconds 300]

A repro directory (farm.py) holds `predicate.sh`: it reruns the case's comparison
(same config and seed, so the same call plan for the exports that remain) on a
candidate module, in a child process with a timeout, and exits 0 when the candidate
still fails the same way (`signature`).  `wasm-tools shrink` keeps the smallest such
module; this writes it as shrunk.wasm and shrunk.wat next to the original.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tools.diff_farm import harness
from tools.diff_farm.harness import Case, Result, Variant


def signature(result: Result) -> str:
    """What must stay the same while shrinking: the status and the shape of the first
    difference (which outcomes or which kind of state differed), not the values,
    export names or call numbers, which shrinking changes."""
    if result.status in ("hang", "crash"):
        return result.status
    reason = result.reason
    last = next((e for e in reversed(result.log) if isinstance(e, list) and len(e) == 3), None)
    if result.status == "mismatch" and reason.startswith("call") and last and last[2]:
        a, b = last[1], last[2]
        # A trap's text, not a result's, host error's or exception payload's values.
        return (f"mismatch call: wasmtime {a[0]} {a[1] if a[0] == 'trap' else ''}/ "
                f"wasmaot {b[0]} {b[1] if b[0] == 'trap' else ''}")
    if result.status == "mismatch" and reason.startswith(("after call", "after instantiation")):
        kinds = sorted(set(re.findall(r"(?:^|; |: )(memory|global|table|host calls) ", reason)))
        return f"mismatch state: {','.join(kinds)}"
    if result.status == "mismatch":
        return "mismatch " + reason.split(":")[0]
    return f"{result.status} {re.sub(r'[0-9]+', 'N', reason)[:80]}"


def write_predicate(d: Path, config: str, seed: int, result: Result) -> Path:
    p = d / "predicate.sh"
    cmd = [sys.executable, "-m", "tools.diff_farm.shrink", "--check", "--config", config,
           "--seed", str(seed), "--variant", result.variant, "--want", signature(result)]
    p.write_text("#!/bin/sh\n# Exit 0 when the module $1 still fails as the original did.\n"
                 f"cd {shlex.quote(str(harness.ROOT))} && PYTHONPATH=. exec "
                 + " ".join(map(shlex.quote, cmd)) + ' "$1"\n')
    p.chmod(0o755)
    return p


def check(config: str, seed: int, variant: str, want: str, wasm: Path, timeout: float) -> bool:
    """Does `wasm` fail as `want` says?  Run in a child: a crash or a hang is an
    answer too."""
    cmd = [sys.executable, "-m", "tools.diff_farm.harness", "--config", config, "--seed",
           str(seed), "--variant", variant, "--wasm", str(wasm), "--json"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False,
                              cwd=harness.ROOT)
    except subprocess.TimeoutExpired:
        return want == "hang"
    if proc.returncode < 0:
        return want == "crash"
    lines = [x for x in proc.stdout.decode(errors="replace").splitlines() if x.startswith("{")]
    if not lines:
        return False
    report = harness.report_from_json(json.loads(lines[-1]))
    results = [r for r in report.results if r.variant == variant]
    return bool(results) and signature(results[0]) == want


def shrink(d: Path, seconds: float) -> Path | None:
    """Runs wasm-tools shrink on d/module.wasm for at most `seconds`."""
    out = d / "shrunk.wasm"
    try:
        subprocess.run([harness.wasm_tools(), "shrink", str(d / "predicate.sh"),
                        str(d / "module.wasm"), "-o", str(out), "--attempts", "300"],
                       timeout=seconds, check=False, capture_output=True)
    except subprocess.TimeoutExpired:
        pass  # shrink writes its best module as it goes
    if not out.exists():
        return None
    text = subprocess.run([harness.wasm_tools(), "print", str(out)], capture_output=True,
                          check=False).stdout.decode(errors="replace")
    (d / "shrunk.wat").write_text(text)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="shrink a diff farm repro")
    ap.add_argument("repro", nargs="*", type=Path, help="repro directories")
    ap.add_argument("--seconds", type=float, default=300, help="per repro (default 300)")
    ap.add_argument("--check", action="store_true", help="the predicate (see predicate.sh)")
    ap.add_argument("--config")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--variant")
    ap.add_argument("--want")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args(argv)
    if args.check:
        Variant.parse(args.variant)
        Case(args.config, args.seed)
        ok = check(args.config, args.seed, args.variant, args.want, args.repro[0], args.timeout)
        return 0 if ok else 1
    for d in args.repro:
        if not (d / "predicate.sh").exists():
            ap.error(f"{d} is not a repro directory (no predicate.sh)")
        out = shrink(d, args.seconds)
        size = out.stat().st_size if out else None
        print(f"{d}: " + (f"shrunk to {size} bytes: {out}" if out else "not shrunk"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
