"""The differential farm: many smith modules, wasmaot against wasmtime.

    python -m tools.diff_farm --count 2000 --seed 0 --jobs 2 --out farm-out

runs cases `seed .. seed+count-1`, cycling through the config presets (case i has
preset configs[i % len(configs)] and seed seed+i), each on wasmtime and on every
variant (default x86_64-O0 and x86_64-O2; deterministic shares of the cases also on
aarch64 under qemu, on x86_64-O2 with explicit bounds checks, and natively as an
executable's module: x86_64-O2-exe / x86_64-O0-exe).  `--jobs` worker processes each
run many cases (harness.py --worker); a case that takes longer than `--timeout` per
variant has its worker killed and is recorded as a hang of that variant, a worker that
dies as a crash.

Every case appends one line to OUT/ledger.jsonl, so counts accumulate over runs
(`--summary` prints the totals of the ledger; a case run twice counts once, its last
result).  A failing variant that is not a known bug (known.py) gets a repro
directory OUT/repros/<config>-<seed>-<variant>/ with the module (.wasm, .wat), a note
and a shrink predicate; `--shrink` shrinks them with `wasm-tools shrink` (shrink.py).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tools.diff_farm import harness
from tools.diff_farm.configs import DEFAULT_CONFIGS, PRESETS
from tools.diff_farm.harness import Case, Report, Result, Variant
from tools.diff_farm.known import KNOWN, classify, module_text

DEFAULT_VARIANTS = ("x86_64-O0", "x86_64-O2")
AARCH64_VARIANTS = ("aarch64-O2", "aarch64-O0")  # one of them, drawn per case
# Cases before a worker is replaced: instances (and their guard-page reservations, GBs of
# address space each) and loaded shared objects are never freed in a worker.
CASES_PER_WORKER = 400
EXPLICIT_VARIANT = "x86_64-O2-explicit"
# The module compiled as an executable's (fastcc records, nounwind without tags) in a
# native test executable (remote.py); like aarch64, only for modules without imports.
EXE_VARIANTS = ("x86_64-O2-exe", "x86_64-O0-exe")
# Default --exe: a variant costs about half a default case (0.12 s of 0.22 s, session
# 16), so this share adds about 8% to a run's time.
EXE_SHARE = 0.15


@dataclass(frozen=True)
class FarmConfig:
    configs: tuple
    variants: tuple  # Variant names every case runs
    aarch64_share: float  # the fraction of cases that also run on aarch64
    timeout: float  # seconds per variant (and for the reference run)
    out: Path
    explicit_share: float = 0.0  # ... and on x86_64-O2 with explicit bounds checks
    exe_share: float = 0.0  # ... and on an EXE_VARIANTS one


def run_dir(fc: FarmConfig) -> Path:
    """This run's scratch directory: two farms may share an output directory."""
    return fc.out / "tmp" / f"run-{os.getpid()}"


def cases_of(first: int, count: int, configs: tuple) -> list[Case]:
    return [Case(configs[i % len(configs)], first + i) for i in range(count)]


def variants_of(case: Case, fc: FarmConfig) -> list[str]:
    """Every case's variants, plus for deterministic shares of the cases an aarch64
    one and an EXE_VARIANTS one (both taken from the cases without host imports,
    which an executable cannot run), and EXPLICIT_VARIANT."""
    importless = not PRESETS[case.config].may_import(case.seed)
    rng = random.Random(f"aarch64-{case.key}")
    extra = []
    # Half of the cases may import: twice the share of the others makes the share.
    if importless and rng.random() < 2 * fc.aarch64_share:
        extra.append(rng.choice(AARCH64_VARIANTS))  # per case, as for exe (below)
    if random.Random(f"explicit-{case.key}").random() < fc.explicit_share:
        extra.append(EXPLICIT_VARIANT)
    exe = random.Random(f"exe-{case.key}")
    if importless and exe.random() < 2 * fc.exe_share:
        # -O2 or -O0 drawn per case: the seed's parity would tie the level to the
        # preset (a run cycles through an even number of presets).
        extra.append(exe.choice(EXE_VARIANTS))
    return [*fc.variants, *(v for v in extra if v not in fc.variants)]


# --- the worker processes ---------------------------------------------------------------


class Worker:
    """One `harness.py --worker` child; restarted after it dies or hangs."""

    def __init__(self, n: int, fc: FarmConfig):
        self.fc = fc
        self.dir = run_dir(fc) / f"worker-{n}"
        self.proc = None
        self.cases = 0

    def _start(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.stderr = open(self.dir / "stderr.txt", "w+")  # noqa: SIM115 (kept while it runs)
        env = {**os.environ, "PYTHONPATH": str(harness.ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.diff_farm.harness", "--worker",
             "--cache-dir", str(self.dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            cwd=harness.ROOT, env=env, start_new_session=True)  # its own group: killable
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def run(self, case: Case, variants: list[str], wasm: Path | None = None) -> Report:
        if self.cases >= CASES_PER_WORKER:
            self.close()
        if self.proc is None or self.proc.poll() is not None:
            self.cases = 0
            self._start()
        self.cases += 1
        req = {"config": case.config, "seed": case.seed, "variants": variants}
        if wasm is not None:
            req["wasm"] = str(wasm)
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        current = "wasmtime"  # the reference runs before the first variant
        while True:
            line = self._readline(self.fc.timeout)
            if line is None:
                return self._failed(case, variants, current)
            msg = json.loads(line)
            if "progress" in msg:
                current = msg["progress"]
                continue
            return harness.report_from_json(msg["report"])

    def _readline(self, timeout: float) -> bytes | None:
        """The next line, or None after `timeout` seconds or at EOF.  Reads the fd
        itself: a buffered readline() could take two lines at once (a progress line
        and a quick report), and select() would then wait for the second forever."""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _failed(self, case: Case, variants: list[str], current: str) -> Report:
        """The worker hung (still running) or died while running `current`."""
        hung = self.proc.poll() is None
        if hung:
            os.killpg(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        self.stderr.seek(0)
        tail = "\n".join(self.stderr.read().strip().splitlines()[-15:])
        self.close()
        if hung:
            status, reason = "hang", f"no answer in {self.fc.timeout:.0f} s"
        else:
            status = "crash"
            reason = (f"the worker died of signal {-code}" if code < 0 else
                      f"the worker exited with {code}")
        report = Report(case.config, case.seed, status, f"{current}: {reason}")
        # Only the variant that was running failed (the reference, before any variant).
        report.results.append(Result(current, status, reason, log=[tail]))
        return report

    def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.sel.close()
        self.proc.stdout.close()
        self.stderr.close()
        self.proc = None


# --- classifying and recording -------------------------------------------------------------


def case_outcome(report: Report) -> str:
    """One word per case for the summary: a failing variant that is not a known bug
    wins, then a known bug (`known`), then inconclusive; `agree` when every variant
    that ran agreed; `skipped` when none ran."""
    if report.status in ("nomodule", "refused"):
        return report.status
    new = [r.status for r in report.results if r.status in ("mismatch", "error", "hang", "crash")
           and not r.known]
    if new:
        return harness.worst(new)
    statuses = {r.status for r in report.results}
    if any(r.known for r in report.results):
        return "known"
    if "inconclusive" in statuses:
        return "inconclusive"
    if "relaxed" in statuses:
        return "relaxed"
    if statuses <= {"skipped"}:
        return "skipped"
    return "agree"


def ledger_line(report: Report, outcome: str) -> dict:
    return {
        "case": Case(report.config, report.seed).key, "config": report.config,
        "seed": report.seed, "outcome": outcome, "reason": report.reason,
        "variants": [{"variant": r.variant, "status": r.status, "reason": r.reason[:300],
                      "known": r.known, "calls": r.calls, "returned": r.returned,
                      "thrown": r.thrown, "seconds": r.seconds}
                     for r in report.results],
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_repro(report: Report, result: Result, wasm: bytes, wat: str, out: Path) -> Path:
    """OUT/repros/<config>-<seed>-<variant>/: the module, its text, a note and the
    shrink predicate (see shrink.py)."""
    from tools.diff_farm.shrink import write_predicate

    d = out / "repros" / f"{report.config}-{report.seed}-{result.variant}"
    d.mkdir(parents=True, exist_ok=True)
    (d / "module.wasm").write_bytes(wasm)
    (d / "module.wat").write_text(wat)
    last = [e for e in result.log if isinstance(e, list)][-3:]
    (d / "note.md").write_text(
        f"# {result.status}: {report.config} seed {report.seed}, {result.variant}\n\n"
        f"{result.reason}\n\n"
        f"Rerun:\n\n    PYTHONPATH=. .venv/bin/python -m tools.diff_farm.harness "
        f"--config {report.config} --seed {report.seed} --variant {result.variant} "
        f"--wasm {d / 'module.wasm'}\n\n"
        f"Shrink: `python -m tools.diff_farm.shrink {d}`\n\nLast steps "
        f"([call, wasmtime, wasmaot]):\n\n" + "".join(f"    {json.dumps(e)}\n" for e in last)
        + "".join(f"\n```\n{e}\n```\n" for e in result.log if isinstance(e, str)))
    (d / "report.json").write_text(json.dumps(asdict(result), indent=1) + "\n")
    write_predicate(d, report.config, report.seed, result)
    return d


@dataclass
class Farm:
    fc: FarmConfig
    lock: threading.Lock = field(default_factory=threading.Lock)
    reports: list = field(default_factory=list)  # (Report, outcome) of this run
    repros: list = field(default_factory=list)

    def record(self, report: Report) -> None:
        failing = [r for r in report.results if r.status in ("mismatch", "error", "hang", "crash")]
        wasm = wat = None
        if failing:
            wasm = harness.smith_module(report.case)
            wat = module_text(wasm) if wasm else ""
            for r in failing:
                r.known = classify(r, wat, [o for o in report.results if o is not r])
        outcome = case_outcome(report)
        with self.lock:
            self.reports.append((report, outcome))
            with open(self.fc.out / "ledger.jsonl", "a") as f:
                f.write(json.dumps(ledger_line(report, outcome)) + "\n")
            for r in failing:
                if not r.known and wasm is not None:
                    d = write_repro(report, r, wasm, wat, self.fc.out)
                    self.repros.append(d)
                    print(f"  {r.status}: {report.config}:{report.seed} {r.variant}: "
                          f"{r.reason[:200]}  -> {d}", flush=True)

    def run(self, cases: list[Case], jobs: int) -> None:
        todo: queue.Queue = queue.Queue()
        for c in cases:
            todo.put(c)
        done = [0]
        start = time.monotonic()

        def work(n: int) -> None:
            w = Worker(n, self.fc)
            try:
                while True:
                    try:
                        case = todo.get_nowait()
                    except queue.Empty:
                        return
                    self.record(w.run(case, variants_of(case, self.fc)))
                    with self.lock:
                        done[0] += 1
                        if done[0] % 50 == 0:
                            rate = done[0] / (time.monotonic() - start)
                            print(f"  {done[0]}/{len(cases)} cases, {rate:.2f}/s", flush=True)
            finally:
                w.close()

        threads = [threading.Thread(target=work, args=(n,)) for n in range(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


# --- the summary ------------------------------------------------------------------------------

COLUMNS = ("agree", "relaxed", "mismatch", "known", "inconclusive", "skipped", "hang", "crash", "error",
           "nomodule", "refused")


def summary(lines: list[dict]) -> str:
    """Counts per config of the ledger lines (the last line of each case wins)."""
    last = {}
    for line in lines:
        last[line["case"]] = line
    per: dict = defaultdict(Counter)
    skips: Counter = Counter()
    known: Counter = Counter()
    variants: dict = defaultdict(Counter)
    calls: dict = defaultdict(Counter)
    for line in last.values():
        per[line["config"]][line["outcome"]] += 1
        for v in line["variants"]:
            variants[v["variant"]][v["status"] if not v["known"] else "known"] += 1
            calls[v["variant"]]["calls"] += v["calls"]
            calls[v["variant"]]["returned"] += v.get("returned", 0)
            calls[v["variant"]]["thrown"] += v.get("thrown", 0)
            if v["status"] == "skipped":
                skips[_reason_class(v["reason"])] += 1
            if v["known"]:
                known[v["known"]] += 1
    w = max([13, *map(len, per)])  # the config column fits the longest name
    out = [f"{'config':<{w}} {'modules':>7} " + " ".join(f"{c:>8}" for c in COLUMNS)]
    total: Counter = Counter()
    for config in sorted(per):
        c = per[config]
        total.update(c)
        out.append(f"{config:<{w}} {sum(c.values()):>7} " + " ".join(f"{c[k]:>8}" for k in COLUMNS))
    out.append(f"{'total':<{w}} {sum(total.values()):>7} "
               + " ".join(f"{total[k]:>8}" for k in COLUMNS))
    for v in sorted(variants):
        out.append(f"variant {v}: " + ", ".join(f"{n} {s}" for s, n in variants[v].most_common())
                   + f"; {calls[v]['calls']} calls compared ({calls[v]['returned']} returned, "
                   + (f"{calls[v]['thrown']} threw alike, " if calls[v]["thrown"] else "")
                   + "the rest trapped alike)")
    for reason, n in skips.most_common():
        out.append(f"skipped {n}: {reason}")
    for name, n in known.most_common():
        note = next((b.note for b in KNOWN if b.name == name), "no longer in known.py")
        out.append(f"known {n}: {name} ({note})")
    for line in sorted(last.values(), key=lambda x: x["case"]):
        if line["outcome"] in ("mismatch", "hang", "crash", "error"):
            bad = [v for v in line["variants"] if v["status"] != "ok" and not v["known"]]
            for v in bad:
                out.append(f"{v['status']} {line['case']} {v['variant']}: {v['reason'][:160]}")
    return "\n".join(out)


def _reason_class(reason: str) -> str:
    """A skip reason without the parts that differ per module (offsets, call numbers)."""
    import re

    reason = re.sub(r"compared \d+ calls; call \d+: ", "", reason)
    reason = re.sub(r" \(at offset \d+\)| at offset \d+", "", reason)
    return reason[:120]


def read_ledger(out: Path) -> list[dict]:
    path = out / "ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.diff_farm",
                                 description="differential farm: smith modules on wasmaot "
                                             "against wasmtime (see tools/diff_farm/README.md)")
    ap.add_argument("--count", type=int, default=100, help="cases to run (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="the first case's seed (default 0)")
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                    help=f"presets to cycle through (default {','.join(DEFAULT_CONFIGS)}; "
                         f"all: {','.join(PRESETS)})")
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                    help="what every case runs on (default x86_64-O0,x86_64-O2)")
    ap.add_argument("--aarch64", type=float, default=0.05, metavar="SHARE",
                    help="the share of cases also run on aarch64 under qemu (default 0.05)")
    ap.add_argument("--explicit", type=float, default=0.1, metavar="SHARE",
                    help=f"the share of cases also run on {EXPLICIT_VARIANT} (default 0.1)")
    ap.add_argument("--exe", type=float, default=EXE_SHARE, metavar="SHARE",
                    help=f"the share of cases also run natively as an executable's module, "
                         f"{' or '.join(EXE_VARIANTS)} (default {EXE_SHARE})")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds per variant before its worker is killed (default 120)")
    ap.add_argument("--out", type=Path, default=Path("diff-farm-out"),
                    help="ledger and repros go here (default ./diff-farm-out)")
    ap.add_argument("--summary", action="store_true", help="print the ledger's totals and stop")
    args = ap.parse_args(argv)
    configs = tuple(c for c in args.configs.split(",") if c)
    for c in configs:
        if c not in PRESETS:
            ap.error(f"unknown config {c!r}; presets: {', '.join(PRESETS)}")
    try:
        variants = tuple(Variant.parse(v).name for v in args.variants.split(",") if v)
    except ValueError as e:
        ap.error(str(e))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summary:
        print(summary(read_ledger(args.out)))
        return 0
    fc = FarmConfig(configs, variants, args.aarch64, args.timeout, args.out.resolve(),
                    args.explicit, args.exe)
    farm = Farm(fc)
    start = time.monotonic()
    print(f"diff farm: {args.count} cases from seed {args.seed}, configs {','.join(configs)}, "
          f"variants {','.join(variants)} (+aarch64 on {args.aarch64:.0%}, +{EXPLICIT_VARIANT} "
          f"on {args.explicit:.0%}, +exe on {args.exe:.0%}), {args.jobs} jobs, "
          f"ledger {fc.out / 'ledger.jsonl'}", flush=True)
    farm.run(cases_of(args.seed, args.count, configs), args.jobs)
    shutil.rmtree(run_dir(fc), ignore_errors=True)
    print(f"this run ({time.monotonic() - start:.0f} s):")
    print(summary([ledger_line(r, o) for r, o in farm.reports]))
    bad = sum(1 for _, o in farm.reports if o in ("mismatch", "hang", "crash", "error"))
    print(f"{bad} cases with new findings; {len(farm.repros)} repros in {fc.out / 'repros'}")
    return 1 if bad else 0
