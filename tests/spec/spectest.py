"""Spec-testsuite verdicts: the machinery behind `test_spec_verdicts.py`.

Each `.wast` script of the WebAssembly testsuite (read in place from
`../shared/testsuite`, never copied) is converted by `wasm-tools json-from-wast`
into a JSON command list plus one `.wasm` file per module.  Every module-bearing
command then gives one *case*, the module's binary and the verdict the spec
expects from `wasmaot.wasm.load_module`:

    module, module_definition           valid (accepted)
    assert_unlinkable, assert_uninstantiable
                                        valid: linking and instantiation come
                                        after validation
    assert_invalid_custom, assert_malformed_custom (binary)
                                        valid: a bad custom section never
                                        rejects a module
    assert_malformed (binary)           MalformedModule
    assert_invalid                      InvalidModule

Text-form modules without a binary form test a text parser, which wasmaot does
not have: they are *skipped*, and every skip carries a reason that is counted
and printed (see `conftest.py`).  Legacy exception-handling scripts are the
exception: wasmaot reads their text with wabt.js (commands/legacy_wat.py), so
their malformed text modules are judged, by that front end.  A script that
cannot be converted because node or wabt.js is missing is skipped, counted
and printed too; any other conversion failure fails.

Known failures live in `known_failures.txt`, one `path.wast:LINE  reason` per
line; a listed case that passes fails the test, so the list only shrinks.  The
same list serves the script runs (`test_spec_native.py`, `..._qemu_aarch64.py`):
an entry whose reason starts with `scripts:` is a command that fails only when
the script runs (its module's verdict is right, or it has no binary), and the
verdict tests ignore it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wasmaot.commands import legacy_wat
from wasmaot.commands.wast import ConvertedScript, convert_script
from wasmaot.driver.wat import wasm_tools_executable
from wasmaot.errors import InvalidModule, MalformedModule, WasmError

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTSUITE = (REPO_ROOT.parent / "shared" / "testsuite").resolve()
KNOWN_FAILURES_FILE = Path(__file__).with_name("known_failures.txt")

# A module that takes longer than this to load is a failure, not a hung run.
CASE_TIMEOUT_SECONDS = 30

VALID, MALFORMED, INVALID = "valid", "malformed module", "invalid module"

EXPECTED = {
    "module": VALID,
    "module_definition": VALID,
    "assert_unlinkable": VALID,
    "assert_uninstantiable": VALID,
    "assert_invalid_custom": VALID,
    "assert_malformed_custom": VALID,
    "assert_malformed": MALFORMED,
    "assert_invalid": INVALID,
}


def wast_files() -> list[str]:
    """Every `.wast` under the testsuite, relative to it: top level first."""
    if not TESTSUITE.is_dir():
        return []
    paths = [p.relative_to(TESTSUITE).as_posix() for p in TESTSUITE.rglob("*.wast")]
    return sorted(paths, key=lambda p: (p.count("/"), p))


# Scripts in legacy exception handling's text syntax (legacy/) are converted
# through wabt.js (wasmaot/commands/legacy_wat.py), which needs node and the npm
# package; without them such a file is skipped with this reason, counted and
# printed.  Any other file json-from-wast cannot convert fails.


def tool_missing_reason(error: WasmError) -> str | None:
    if isinstance(error, legacy_wat.LegacyTextUnavailable):
        return f"cannot convert it here: {error.message}"
    return None


# --- known failures ------------------------------------------------------------


SCRIPTS_ONLY = "scripts:"


@dataclass(frozen=True)
class KnownFailure:
    file: str
    line: int
    reason: str
    source_line: int  # line in known_failures.txt
    scripts_only: bool = False  # fails when the script runs, the verdict is right


def read_known_failures(path: Path = KNOWN_FAILURES_FILE) -> tuple[list[KnownFailure], list[str]]:
    """The entries of the known-failures list, and the problems with its format."""
    entries, problems = [], []
    if not path.exists():
        return entries, problems
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        where, _, reason = text.partition(" ")
        file, _, line = where.rpartition(":")
        if not file.endswith(".wast") or not line.isdigit():
            problems.append(f"{path.name}:{number}: expected `file.wast:LINE  reason`, got {raw!r}")
            continue
        if not reason.strip():
            problems.append(f"{path.name}:{number}: {where} has no reason")
            continue
        reason = reason.strip()
        scripts_only = reason.startswith(SCRIPTS_ONLY)
        if scripts_only:
            reason = reason[len(SCRIPTS_ONLY):].strip()
        entries.append(KnownFailure(file, int(line), reason, number, scripts_only))
    return entries, problems


# --- conversion ------------------------------------------------------------------


def convert(wast: str, out_dir: Path) -> tuple[ConvertedScript | None, str | None, bool]:
    """The converted testsuite file `wast` in `out_dir` (as `wasmaot wast` converts
    it: json-from-wast, legacy text through wabt.js first): (the script, None,
    False), or (None, the one-line reason it failed, whether that is a missing
    tool rather than a failure)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return convert_script(TESTSUITE / wast, out_dir), None, False
    except WasmError as err:
        missing = tool_missing_reason(err)
        return None, missing or err.message, missing is not None


# --- verdicts ------------------------------------------------------------------


class CaseTimeout(BaseException):
    """Raised by the alarm inside a module load that runs too long (a BaseException,
    so that no `except Exception` in the code under test swallows it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def load_verdict(data: bytes) -> tuple[str, str]:
    """(verdict, detail) of `load_module(data)`: VALID, MALFORMED, INVALID, or
    anything else (a wrong error type, a crash, a timeout) with its description."""
    from wasmaot.wasm import load_module

    use_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT_SECONDS)
    try:
        load_module(data)
        return VALID, ""
    except MalformedModule as err:
        return MALFORMED, str(err)
    except InvalidModule as err:
        return INVALID, str(err)
    except WasmError as err:
        return f"{type(err).__name__}", str(err)
    except CaseTimeout:
        return "timeout", f"no verdict within {CASE_TIMEOUT_SECONDS} s"
    except RecursionError as err:
        return "crash", f"RecursionError: {err}"
    except Exception as err:  # any other exception type is a bug
        return "crash", f"{type(err).__name__}: {err}"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


@dataclass
class Case:
    line: int
    command: str
    expected: str
    text: str  # the assertion's expected message, if any
    wasm: Path  # its binary, or (text_to_wasm set) its text
    text_to_wasm: Callable[[Path], bytes] | None = None  # the front end a text module is judged by


@dataclass
class FileResult:
    """What one `.wast` file's run found; `conftest.py` prints these."""

    name: str
    checked: int = 0
    right: int = 0
    wrong: list[str] = field(default_factory=list)  # unexpected wrong verdicts, as list entries
    known: int = 0  # wrong verdicts that are listed in known_failures.txt
    fixed: list[str] = field(default_factory=list)  # listed, but now right
    stale: list[str] = field(default_factory=list)  # listed, but no such case
    skipped: Counter = field(default_factory=Counter)  # reason -> count of modules
    unconvertible: str | None = None  # why the file could not be converted here (a missing tool)
    wasm2_only: bool | None = None


def cases(converted: ConvertedScript, out_dir: Path, skipped: Counter) -> list[Case]:
    """The module cases of a converted script; text-only modules go to `skipped`,
    except a legacy script's malformed text modules: wasmaot reads legacy text
    with wabt.js (legacy_wat), which must reject them."""
    found = []
    for cmd in converted.script["commands"]:
        kind = cmd["type"]
        if "filename" not in cmd:
            continue  # an action, a register, a module_instance...: no module of its own
        if kind not in EXPECTED:
            skipped[f"command {kind} is not checked"] += 1
            continue
        binary = cmd["filename"] if cmd.get("module_type") == "binary" else cmd.get("binary_filename")
        if binary:
            found.append(Case(cmd["line"], kind, EXPECTED[kind], cmd.get("text", ""), out_dir / binary))
        elif converted.legacy and kind == "assert_malformed":
            found.append(Case(cmd["line"], kind, MALFORMED, cmd.get("text", ""), out_dir / cmd["filename"],
                              converted.text_to_wasm))
        else:
            skipped[f"text-form {kind} (tests a text parser)"] += 1
    return found


def case_verdict(case: Case) -> tuple[str, str]:
    """(verdict, detail) of a case: its binary's load_verdict, or for a text case
    MALFORMED if its front end rejects the text, else its binary's verdict."""
    if case.text_to_wasm is None:
        return load_verdict(case.wasm.read_bytes())
    try:
        data = case.text_to_wasm(case.wasm)
    except MalformedModule as err:
        return MALFORMED, f"text: {err}"
    except WasmError as err:
        return type(err).__name__, str(err)
    return load_verdict(data)


def judge(result: FileResult, found: list[Case], known_lines: dict[int, KnownFailure]) -> None:
    """Load every case and record right and wrong verdicts against the known list."""
    failing_lines: dict[int, list[str]] = {}
    for case in found:
        verdict, detail = case_verdict(case)
        result.checked += 1
        if verdict == case.expected:
            result.right += 1
            failing_lines.setdefault(case.line, [])
            continue
        want = case.expected + (f' ("{case.text}")' if case.text and case.expected != VALID else "")
        got = verdict + (f": {detail}" if detail else "")
        failing_lines.setdefault(case.line, []).append(f"{case.command}: expected {want}, got {got}")

    for line, problems in sorted(failing_lines.items()):
        listed = known_lines.get(line)
        if problems and listed:
            result.known += len(problems)
        elif problems:
            result.wrong += [f"{result.name}:{line}  {p}" for p in problems]
        elif listed:
            result.fixed.append(f"{result.name}:{line}  (listed as: {listed.reason})")
    for line, listed in sorted(known_lines.items()):
        if line not in failing_lines:
            result.stale.append(f"{result.name}:{line}  (known_failures.txt:{listed.source_line})")


# --- script runs against the known-failures list ---------------------------------


@dataclass
class ScriptRun:
    """One script run (`wasmaot.commands.wast.run_file`) judged against the
    known-failures list; `conftest.py` prints these."""

    result: object  # wasmaot.commands.wast.FileResult
    known: list = field(default_factory=list)  # (Outcome, KnownFailure) of listed failures
    problems: list = field(default_factory=list)  # unexpected failures, fixed or stale entries

    @property
    def counts(self) -> tuple:
        """(passed, failed unexpectedly, failed as listed, skipped)."""
        r = self.result
        return r.passed, r.failed - len(self.known), len(self.known), r.skipped


def judge_script(wast: str, result, known: list[KnownFailure]) -> ScriptRun:
    """Which failed commands of testsuite file `wast` are listed, which are not,
    and which listed lines no longer fail (or have no command)."""
    run = ScriptRun(result)
    if result.error is not None:
        run.problems.append(f"{wast}: {result.error}")
        return run
    listed = {k.line: k for k in known if k.file == wast}
    by_line: dict[int, list] = {}
    for o in result.outcomes:
        by_line.setdefault(o.line, []).append(o)
        if o.kind != "failed":
            continue
        if o.line in listed:
            run.known.append((o, listed[o.line]))
        else:
            run.problems.append(f"{wast}:{o.line}: {o.command}: {o.detail}")
    for line, entry in sorted(listed.items()):
        kinds = {o.kind for o in by_line.get(line, [])}
        where = f"{wast}:{line}  (known_failures.txt:{entry.source_line})"
        if not kinds:
            run.problems.append(f"listed, but the script has no command there: {where}")
        elif kinds <= {"passed", "skipped"} and "passed" in kinds:
            run.problems.append(f"listed, but now passes: remove it: {where}")
    return run


# --- which files use only WebAssembly 2.0 features --------------------------------
#
# A file counts as "WebAssembly 2.0 only" when wasm-tools, restricted to the 2.0
# feature set (`validate -f wasm2`), agrees with the file on every binary module:
# each module the file expects to be valid validates under wasm2, and each module it
# expects to be malformed or invalid is rejected under wasm2 with the very same
# message as under wasm-tools' default (3.0) features, so its rejection does not
# hinge on a post-2.0 feature either.  One difference is benign and allowed: 3.0
# reads memarg offsets and limits as u64 (memory64), so an over-long LEB128 there
# fails a little later, with a different message, but is malformed under both
# feature sets (`BENIGN_WASM2_MESSAGES`; binary-leb128.wast needs this).  Not so
# for a module the file expects to be *invalid*: `(memory 0x1_0000_0000)` is
# invalid in 3.0 but malformed in 2.0, which puts memory.wast on the 3.0 side.
# Files under proposals/ and legacy/ exist to test features outside 3.0 and never
# count.  This is computed rather than listed so it cannot drift from the suite;
# the result is cached per file content and wasm-tools version in pytest's cache,
# so only the first run pays for the wasm-tools runs (about 15 s).

WASM2_CLASSIFIER_VERSION = 4

BENIGN_WASM2_MESSAGES = ("integer representation too long", "integer too large")

# Files the rule above gets wrong, with why.
NOT_WASM2 = {
    # Only malformed modules, and wasm-tools decodes GC type encodings (and reports
    # their errors) before it checks that GC is enabled.
    "binary-gc.wast": "tests the GC proposal's binary format",
}


def _wasm_tools_version() -> str:
    proc = subprocess.run([wasm_tools_executable(), "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def _first_error(args: list[str]) -> str | None:
    proc = subprocess.run([wasm_tools_executable(), *args], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return None
    # The first `error:` line; stderr may also hold time-stamped warnings.
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("error")), lines[-1] if lines else "failed")


def classify_wasm2(wast: str, found: list[Case], cache) -> bool:
    """Whether testsuite file `wast` uses only WebAssembly 2.0 features (see above)."""
    if wast.startswith(("proposals/", "legacy/")) or wast in NOT_WASM2 or not found:
        return False
    key = None
    if cache is not None:
        digest = hashlib.sha256((TESTSUITE / wast).read_bytes()).hexdigest()[:20]
        tools = _wasm_tools_version().replace(" ", "_").replace("/", "_")
        key = f"wasmaot/spec-wasm2/v{WASM2_CLASSIFIER_VERSION}/{tools}/{digest}"
        hit = cache.get(key, None)
        if hit is not None:
            return bool(hit)
    answer = True
    for case in found:
        path = str(case.wasm)
        under_wasm2 = _first_error(["validate", "-f", "wasm2", path])
        if case.expected == VALID:
            ok = under_wasm2 is None
        else:
            ok = under_wasm2 is not None and (
                under_wasm2 == _first_error(["validate", path])
                or (case.expected == MALFORMED and any(b in under_wasm2 for b in BENIGN_WASM2_MESSAGES))
            )
        if not ok:
            answer = False
            break
    if cache is not None:
        cache.set(key, answer)
    return answer


# Results of this session's runs, keyed by file; read by conftest.py's summary.
RESULTS: dict[str, FileResult] = {}


def safe_dir_name(wast: str) -> str:
    return wast.replace(os.sep, "__").replace("/", "__")
