"""Mutation fuzzer of wasmaot's decoder and validator (issue 8, item 3).  See README.md.

Each input is a seed module (corpus.py) through 0-3 mutations (mutate.py).  A worker process
runs our frontend on it under a time limit (SIGALRM) and an address-space cap (RLIMIT_AS) and
asks wasmtime's validator (the `wasmtime` package: wasmparser, in process) for a reference
verdict.  Where the two disagree on valid/not valid, `wasm-tools validate` with exactly our
feature set decides (one process per disagreement, which is rare), and a disagreement that
remains is a mismatch: explained by an entry of KNOWN_DIFFERENCES, or a bug.

Findings (input bytes plus a .txt with the reason) go to the output directory.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from wasmaot.driver.wat import wasm_tools_executable
from wasmaot.errors import InvalidModule, MalformedModule, UnsupportedFeature, WasmError
from wasmaot.codegen.module import REFUSALS
from wasmaot.wasm import decode_module, load_module, validate_module

from .corpus import TESTSUITE, CorpusSpec, build_corpus
from .mutate import mutated

# The proposals our validator implements, in wasm-tools' names (README, "Feature set").
WASM_TOOLS_FEATURES = ("wasm3,threads,wide-arithmetic,custom-page-sizes,legacy-exceptions,"
                       "custom-descriptors")
# The same set in wasmtime's Config, as far as it goes: wasmtime has no switch for legacy
# exceptions or custom descriptors, so modules using them reach the wasm-tools check.
WASMTIME_FEATURES = (
    "bulk_memory", "custom_page_sizes", "exceptions", "function_references", "gc", "memory64",
    "multi_memory", "multi_value", "reference_types", "relaxed_simd", "simd", "tail_call",
    "threads", "wide_arithmetic",
)
CHUNK = 200  # inputs per task: few round trips, and progress stays fresh


@dataclass(frozen=True)
class KnownDifference:
    """A verdict difference with wasm-tools that is not a bug, and why."""

    name: str
    reason: str
    ours: str  # our verdict: "valid", "malformed" or "invalid"
    reference: re.Pattern  # matches wasm-tools' message ("" when it says valid)


# Every entry needs a reason a reviewer can check.
KNOWN_DIFFERENCES: tuple[KnownDifference, ...] = (
    KnownDifference(
        "custom-descriptors: descriptor without a described supertype",
        "The proposal's own test, proposals/custom-descriptors/descriptors.wast:253-270, says "
        "valid: 'If a subtype has a descriptor, its supertype does not need to have a "
        "descriptor'; wasm-tools 1.262 still applies the older rule.  We follow the testsuite "
        "(tests/spec runs that file).",
        "valid", re.compile(r"sub type with descriptor must have super type with descriptor")),
)


class InputTimeout(BaseException):
    """From SIGALRM.  A BaseException, so no `except Exception` in the frontend can swallow it."""


@dataclass
class Finding:
    kind: str  # "internal", "hang", "memory", "mismatch", "worker-died"
    index: int
    data: bytes
    reason: str


@dataclass
class ChunkResult:
    counts: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)


# --- the worker -------------------------------------------------------------------------

_W: dict = {}  # per worker process: corpus, seed, limits, wasmtime engine (set once at start)


def reference_engine():
    """A wasmtime engine with our feature set (WASMTIME_FEATURES) switched on."""
    import wasmtime

    config = wasmtime.Config()
    for feature in WASMTIME_FEATURES:
        setattr(config, f"wasm_{feature}", True)
    return wasmtime.Engine(config)


def _init_worker(corpus: list, valid: list, seed: int, timeout: float, headroom: int) -> None:
    import wasmtime

    _W.update(corpus=corpus, valid=valid, seed=seed, timeout=timeout, wasmtime=wasmtime,
              engine=reference_engine())
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_size() + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.signal(signal.SIGALRM, _on_alarm)


def _on_alarm(signum, frame):
    raise InputTimeout()


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def input_at(seed: int, index: int, corpus: list, valid: list) -> tuple[bytes, list]:
    """Input number `index` of the run with `seed`: a function of the two (and the corpus,
    itself a function of the seed and the corpus sizes)."""
    return mutated(random.Random(f"{seed}/{index}"), corpus, valid)


def valid_seeds(corpus: list) -> list:
    """The seeds wasmtime's validator accepts (the reference's verdict, not ours)."""
    import wasmtime

    engine = reference_engine()
    out = []
    for data in corpus:
        try:
            wasmtime.Module.validate(engine, data)
        except Exception:  # noqa: BLE001 - WasmtimeError: not a valid seed
            continue
        out.append(data)
    return out


def our_verdict(data: bytes, timeout: float) -> tuple[str, str]:
    """("valid" | "malformed" | "invalid" | "component" | "internal" | "hang" | "memory",
    detail)."""
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        load_module(data)
        return "valid", ""
    except MalformedModule as e:
        return "malformed", str(e)
    except InvalidModule as e:
        return "invalid", str(e)
    except UnsupportedFeature as e:  # a component binary: no core module at all
        return "component", str(e)
    except WasmError as e:  # the frontend raises only the three above; anything else is a bug
        return "internal", f"{type(e).__name__} from the frontend: {e}"
    except InputTimeout:
        return "hang", f"no verdict after {timeout} s"
    except MemoryError:
        return "memory", "MemoryError: address space cap reached\n" + traceback.format_exc()
    except Exception:  # noqa: BLE001 - every other exception is the bug we look for
        return "internal", traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def refusal_consistent(data: bytes, ours: str) -> str:
    """"" if validation with the compiler's refusals (what `build` and `api.compile` run)
    agrees with plain validation: the same verdict, or UnsupportedFeature for a valid module
    only.  Else what differs.  The refused rows go through other dispatch entries, so this
    checks that path too."""
    try:
        validate_module(decode_module(data), REFUSALS)
        got = "valid"
    except MalformedModule:
        got = "malformed"
    except InvalidModule:
        got = "invalid"
    except UnsupportedFeature:
        got = "component" if ours == "component" else "unsupported"
    except Exception:  # noqa: BLE001
        return "with refusals: " + traceback.format_exc()
    if got == ours or (ours == "valid" and got == "unsupported"):
        return ""
    return f"plain validation: {ours}; with the compiler's refusals: {got}"


def wasmtime_verdict(data: bytes) -> str:
    """"" when wasmtime's validator accepts, else its message."""
    try:
        _W["wasmtime"].Module.validate(_W["engine"], data)
        return ""
    except Exception as e:  # noqa: BLE001 - WasmtimeError; its message is the verdict
        return str(e) or type(e).__name__


def wasm_tools_verdict(data: bytes) -> str:
    """"" when `wasm-tools validate --features <ours>` accepts, else its message."""
    p = subprocess.run([wasm_tools_executable(), "validate", "--features", WASM_TOOLS_FEATURES],
                       input=data, capture_output=True, timeout=60)
    if p.returncode == 0:
        return ""
    return " ".join(p.stderr.decode(errors="replace").split()) or f"exit {p.returncode}"


def explain(ours: str, reference: str) -> KnownDifference | None:
    for k in KNOWN_DIFFERENCES:
        if k.ours == ours and k.reference.search(reference):
            return k
    return None


def run_chunk(start: int, count: int) -> ChunkResult:
    res = ChunkResult()
    corpus, seed, timeout = _W["corpus"], _W["seed"], _W["timeout"]
    for index in range(start, start + count):
        data, how = input_at(seed, index, corpus, _W["valid"])
        ours, detail = our_verdict(data, timeout)
        res.counts["inputs"] += 1
        res.counts[ours] += 1
        if ours in ("internal", "hang", "memory"):
            res.findings.append(Finding(ours, index, data, f"mutations: {how}\n{detail}"))
            continue
        if ours != "malformed":  # the refused rows are reached only past decoding
            differs = refusal_consistent(data, ours)
            if differs:
                res.counts["refusal"] += 1
                res.findings.append(Finding("refusal", index, data, f"mutations: {how}\n{differs}"))
        reference = wasmtime_verdict(data)
        if (ours == "valid") == (reference == ""):
            continue
        # wasmtime's feature set is not exactly ours; wasm-tools with our features decides.
        res.counts["wasm-tools checks"] += 1
        reference = wasm_tools_verdict(data)
        if (ours == "valid") == (reference == ""):
            res.counts["wasmtime-only differences"] += 1
            continue
        known = explain(ours, reference)
        if known is not None:
            res.counts[f"explained: {known.name}"] += 1
            continue
        res.counts["mismatch"] += 1
        res.findings.append(Finding("mismatch", index, data,
                                    f"mutations: {how}\nours: {ours}: {detail}\n"
                                    f"wasm-tools: {reference or 'valid'}"))
    return res


# --- the parent -------------------------------------------------------------------------


@dataclass
class Options:
    count: int = 10_000
    seed: int = 0
    jobs: int = os.cpu_count() or 1
    out: Path | None = None
    timeout: float = 10.0
    headroom: int = 1 << 30  # address space a worker may add while it handles one input
    spec_files: int = 0  # 0: the whole testsuite
    smith: int = 300
    mutate: int = 300
    start: int = 0  # first input index (to resume or replay a range)
    progress: float = 60.0  # seconds between progress lines (0: none)
    testsuite: Path = TESTSUITE


@dataclass
class Report:
    counts: Counter
    findings: list
    seconds: float
    corpus_size: int
    valid_seeds: int
    corpus_seconds: float

    @property
    def rate(self) -> float:
        return self.counts["inputs"] / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        c = self.counts
        explained = sum(v for k, v in c.items() if k.startswith("explained"))
        return (f"{c['inputs']} inputs: {c['internal']} internal errors, {c['hang']} hangs, "
                f"{c['memory']} memory blow-ups, {c['mismatch']} verdict mismatches, "
                f"{c['refusal']} refusal inconsistencies "
                f"({explained} explained differences, {c['worker-died']} dead workers); "
                f"{self.rate:.0f} inputs/s")

    def details(self) -> str:
        c = self.counts
        return (f"verdicts: {c['valid']} valid, {c['malformed']} malformed, {c['invalid']} "
                f"invalid; {c['wasm-tools checks']} wasm-tools checks, "
                f"{c['wasmtime-only differences']} wasmtime-only differences; corpus "
                f"{self.corpus_size} seeds ({self.valid_seeds} valid) in "
                f"{self.corpus_seconds:.1f} s")


def write_finding(out: Path, f: Finding) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{f.kind}-{f.index}.wasm"
    path.write_bytes(f.data)
    path.with_suffix(".txt").write_text(f"input {f.index}: {f.kind}\n{f.reason}\n")
    return path


def run(opts: Options, log=print) -> Report:
    t0 = time.perf_counter()
    spec = CorpusSpec(opts.seed, opts.spec_files, opts.smith, opts.mutate, opts.testsuite)
    corpus = build_corpus(spec, opts.jobs)
    corpus_s = time.perf_counter() - t0
    if not corpus:
        raise SystemExit("empty seed corpus")
    valid = valid_seeds(corpus)
    counts: Counter = Counter()
    findings: list = []
    t1 = time.perf_counter()
    last = t1
    chunks = [(s, min(CHUNK, opts.start + opts.count - s))
              for s in range(opts.start, opts.start + opts.count, CHUNK)]
    chunks.reverse()  # popped from the end, in order
    initargs = (corpus, valid, opts.seed, opts.timeout, opts.headroom)
    while chunks:
        # spawn, not fork: this process has a wasmtime engine (valid_seeds), whose threads
        # a forked child would inherit as held locks and deadlock on.
        with ProcessPoolExecutor(max_workers=max(1, opts.jobs), mp_context=get_context("spawn"),
                                 initializer=_init_worker, initargs=initargs) as pool:
            pending = {}
            try:
                while chunks or pending:
                    while chunks and len(pending) < 4 * max(1, opts.jobs):
                        c = chunks.pop()
                        pending[pool.submit(run_chunk, *c)] = c
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        pending.pop(fut)
                        res = fut.result()
                        counts.update(res.counts)
                        for f in res.findings:
                            findings.append(f)
                            if opts.out is not None:
                                write_finding(opts.out, f)
                    now = time.perf_counter()
                    if opts.progress and now - last >= opts.progress:
                        last = now
                        rep = Report(counts, findings, now - t1, len(corpus), len(valid),
                                     corpus_s)
                        log(f"progress: {rep.summary()}", flush=True)
            except BrokenProcessPool:
                # A worker died outside Python's control (a signal, the OOM killer): the
                # chunks in flight are lost; record them and go on with a fresh pool.
                for c in pending.values():
                    counts["worker-died"] += 1
                    f = Finding("worker-died", c[0], b"", f"inputs {c[0]}..{c[0] + c[1] - 1}: "
                                "a worker process died; replay with --start/--count")
                    findings.append(f)
                    if opts.out is not None:
                        write_finding(opts.out, f)
    return Report(counts, findings, time.perf_counter() - t1, len(corpus), len(valid), corpus_s)


def parse_args(argv: list | None = None) -> Options:
    ap = argparse.ArgumentParser(prog="python -m tools.validator_fuzz",
                                 description="Mutation fuzzer of wasmaot's validator.")
    ap.add_argument("--count", type=int, default=10_000, help="inputs to run (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="run seed: same seed, same inputs")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--out", type=Path, default=None,
                    help="directory for findings (default: a new temporary directory)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per input (hang)")
    ap.add_argument("--headroom-mb", type=int, default=1024,
                    help="address space a worker may grow by on one input (memory blow-up)")
    ap.add_argument("--spec-files", type=int, default=0, help="spec .wast files (0: all)")
    ap.add_argument("--smith", type=int, default=300, help="wasm-tools smith seeds")
    ap.add_argument("--mutate", type=int, default=300, help="wasm-tools mutate seeds")
    ap.add_argument("--start", type=int, default=0, help="first input index (replay a range)")
    ap.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines")
    ap.add_argument("--testsuite", type=Path, default=TESTSUITE,
                    help=f"spec testsuite checkout (default {TESTSUITE})")
    a = ap.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="validator-fuzz-findings-"))
    return Options(a.count, a.seed, a.jobs, out, a.timeout, a.headroom_mb << 20, a.spec_files,
                   a.smith, a.mutate, a.start, a.progress, a.testsuite)


def main(argv: list | None = None) -> int:
    opts = parse_args(argv)
    print(f"seed {opts.seed}, inputs {opts.start}..{opts.start + opts.count - 1}, "
          f"{opts.jobs} jobs, findings in {opts.out}", flush=True)
    report = run(opts)
    print(report.details())
    print(report.summary())
    bad = sum(report.counts[k] for k in ("internal", "hang", "memory", "refusal"))
    return 1 if bad or report.counts["mismatch"] or report.counts["worker-died"] else 0


if __name__ == "__main__":
    sys.exit(main())
