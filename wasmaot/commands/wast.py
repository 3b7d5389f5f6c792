"""Running spec scripts (.wast) on native code.

A script is converted with `wasm-tools json-from-wast` (the WebAssembly
interpreter's script format, spec interpreter/README.md "Scripts"), then its
commands run in order against modules compiled by `wasmaot.api`.  The
`spectest` module the scripts import is provided by host objects here.

A command is *skipped* only when it needs a feature this version cannot
compile (GC, threads); the skip records which.
Everything else passes or fails; a failure records what was expected and what
happened.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import api
from ..errors import (
    InvalidModule, LinkError, MalformedModule, Trap, UnsupportedFeature, WasmError, WasmException,
)
from ..wasm import load_module
from ..driver.wat import diagnostic_to_error, wasm_tools_executable, wat_to_wasm
from . import legacy_wat

# Expected trap texts of the testsuite that wasmtime (and so wasmaot) words
# differently; each maps to a text our message contains.
TRAP_ALIASES = {
    "null function reference": "null reference",
    "unreachable": "unreachable",
    "undefined element": "undefined element",
    "uninitialized element 2": "uninitialized element",
    "out of bounds table access": "out of bounds table access",
    "indirect call type mismatch": "indirect call type mismatch",
    "null reference": "null reference",
    "cast failure": "cast failure",
}

_FEATURE_OF_TYPE = {"anyref": "GC", "eqref": "GC", "i31ref": "GC",
                    "structref": "GC", "arrayref": "GC", "nullref": "GC"}


@dataclass
class Outcome:
    line: int
    kind: str  # "passed", "failed", "skipped"
    command: str
    detail: str = ""


@dataclass
class FileResult:
    path: str
    outcomes: list = field(default_factory=list)
    error: str | None = None  # the script could not be run at all
    tool_missing: bool = False  # ... because node or wabt.js (legacy text) is not installed

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.kind == kind)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        return self.count("failed") + (1 if self.error else 0)

    @property
    def skipped(self) -> int:
        return self.count("skipped")


_LANE_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "f32": 32, "f64": 64}


def _number_matches(pattern: str, actual: int, bits: int) -> bool:
    """An i32/i64/f32/f64 result or v128 lane (its low `bits` bits) against the
    script's pattern: a decimal bit pattern, `nan:canonical` or `nan:arithmetic`."""
    a = actual & ((1 << bits) - 1)
    if pattern == "nan:canonical":
        return _is_canonical_nan(a, bits)
    if pattern == "nan:arithmetic":
        return _is_arithmetic_nan(a, bits)
    return a == int(pattern) & ((1 << bits) - 1)


class Skip(Exception):
    """A command needs a feature this version does not compile."""


class Fail(Exception):
    pass


class HostRef:
    """The testsuite's `ref.extern N` / `ref.host N` values."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __eq__(self, other):
        return isinstance(other, HostRef) and other.n == self.n

    def __hash__(self):
        return hash(("hostref", self.n))

    def __repr__(self):
        return f"ref.extern {self.n}"


# spectest's print functions: name -> params (no results).  Both backends use it.
SPECTEST_PRINTS = {"print": [], "print_i32": ["i32"], "print_i64": ["i64"],
                   "print_f32": ["f32"], "print_f64": ["f64"], "print_i32_f32": ["i32", "f32"],
                   "print_f64_f64": ["f64", "f64"]}


def module_bytes(path: Path) -> bytes:
    """A script's module file: binary as it is, text through `wasm-tools parse`."""
    return wat_to_wasm(path) if path.suffix == ".wat" else path.read_bytes()


def _spectest(engine) -> dict:
    def noop(*args):
        return None

    f32_666 = struct.unpack("<I", struct.pack("<f", 666.6))[0]
    return {
        "global_i32": api.Global("i32", False, 666, engine=engine),
        "global_i64": api.Global("i64", False, 666, engine=engine),
        "global_f32": api.Global("f32", False, f32_666, engine=engine, bits=True),
        "global_f64": api.Global("f64", False, 666.6, engine=engine),
        "table": api.Table("funcref", 10, 20, engine=engine),
        "table64": api.Table("funcref", 10, 20, engine=engine, is64=True),
        "memory": api.Memory(1, 2),
        # The spec interpreter's (threads): wasmaot has no atomics yet, but a
        # shared memory's type (and so import matching) is supported.
        "shared_memory": api.Memory(1, 2, shared=True),
        **{name: api.Func(params, [], noop) for name, params in SPECTEST_PRINTS.items()},
    }


class InProcess:
    """Runs a script's modules in this process, through the embedding API."""

    function_type = api.Function

    def __init__(self, opt_level: int, explicit_bounds_checks: bool = False,
                 cpu: str = "default", deterministic: bool = False):
        self.opt_level = opt_level
        self.cpu = cpu
        self.bounds_checks = "explicit" if explicit_bounds_checks else "guard"
        self.deterministic = deterministic
        self.engine = api.Engine()

    def spectest(self) -> dict:
        return _spectest(self.engine)

    def compile(self, path: Path):
        return api.compile(module_bytes(path), opt_level=self.opt_level,
                           bounds_checks=self.bounds_checks, engine=self.engine, cpu=self.cpu,
                           deterministic=self.deterministic)


class ScriptRunner:
    """Runs a script's commands against a backend: `InProcess`, or a test
    executable for another target (wast_remote.TestExecutable).  A backend
    compiles modules to objects with `.imports` and `.instantiate(registered)`,
    whose instances' `.exports` behave as the embedding API's."""

    def __init__(self, backend, text_to_wasm: Callable[[Path], bytes] = wat_to_wasm):
        self.backend = backend
        self.text_to_wasm = text_to_wasm  # the script's text front end (legacy scripts: wabt.js)
        self.registered: dict[str, object] = {"spectest": self.backend.spectest()}
        self.instances: dict[str, object] = {}
        self.definitions: dict[str, object] = {}
        self.current = None
        self.current_skip: str | None = None  # why the current module was skipped
        self.skipped_names: dict[str, str] = {}
        self.skipped_registrations: dict[str, str] = {}

    # --- modules ----------------------------------------------------------

    def compile(self, path: Path):
        try:
            return self.backend.compile(path)
        except UnsupportedFeature as e:
            raise Skip(e.message) from None

    def instantiate(self, module):
        for imp in module.imports:
            if imp.module in self.skipped_registrations:
                raise Skip(self.skipped_registrations[imp.module])
        return module.instantiate(self.registered)

    def define_current(self, name: str | None, thunk) -> None:
        try:
            instance = thunk()
        except (Skip, UnsupportedFeature) as e:
            reason = e.message if isinstance(e, UnsupportedFeature) else str(e)
            self.current, self.current_skip = None, reason
            if name:
                self.skipped_names[name] = reason
            raise Skip(reason) from None
        except Exception:
            self.current, self.current_skip = None, None
            raise
        self.current, self.current_skip = instance, None
        if name:
            self.instances[name] = instance
            self.skipped_names.pop(name, None)

    def target(self, name: str | None):
        if name is None:
            if self.current is None:
                if self.current_skip:
                    raise Skip(self.current_skip)
                raise Fail("no module instantiated")
            return self.current
        if name in self.skipped_names:
            raise Skip(self.skipped_names[name])
        if name not in self.instances:
            raise Fail(f"unknown module {name}")
        return self.instances[name]

    # --- values -----------------------------------------------------------

    def arg(self, v: dict):
        t = v["type"]
        if t in _FEATURE_OF_TYPE:
            raise Skip(f"{_FEATURE_OF_TYPE[t]} value")
        if t in ("i32", "i64", "f32", "f64"):
            return int(v["value"])
        if t == "v128":
            bits = _LANE_BITS[v["lane_type"]]
            return sum((int(x) & ((1 << bits) - 1)) << (i * bits)
                       for i, x in enumerate(v["value"]))
        if t in ("externref", "funcref"):
            if v.get("value") in (None, "null"):
                return None
            return HostRef(int(v["value"]))
        if t in ("exnref", "nullexnref") and v.get("value") in (None, "null"):
            return None  # a script can only write the null exnref
        raise Skip(f"{t} value")

    def check_result(self, expected: dict, actual) -> bool:
        t = expected["type"]
        if t == "either":
            return any(self.check_result(e, actual) for e in expected["values"])
        if t in _FEATURE_OF_TYPE:
            raise Skip(f"{_FEATURE_OF_TYPE[t]} value")
        value = expected.get("value")
        if t in ("i32", "i64", "f32", "f64"):
            return _number_matches(value, actual, 32 if t in ("i32", "f32") else 64)
        if t == "v128":
            bits = _LANE_BITS[expected["lane_type"]]
            return all(_number_matches(lane, actual >> (i * bits), bits)
                       for i, lane in enumerate(value))
        if t in ("refnull", "nullfuncref", "nullexternref", "nullexnref"):
            return actual is None
        if t == "exnref":  # `(ref.exn)`: any exception; `(ref.null exn)`: null
            return actual is None if value == "null" else actual is not None
        if t == "externref":
            if value is None:
                return actual is not None
            return actual is None if value == "null" else actual == HostRef(int(value))
        if t == "funcref":
            if value is None:
                return isinstance(actual, self.backend.function_type)
            return actual is None if value == "null" else False
        raise Skip(f"{t} result")

    # --- actions ----------------------------------------------------------

    def action(self, act: dict):
        instance = self.target(act.get("module"))
        field_name = act["field"]
        if act["type"] == "get":
            g = instance.exports[field_name]
            return [g.get(bits=True)]
        args = [self.arg(a) for a in act.get("args", [])]
        func = instance.exports[field_name]
        result = func.call_bits(*args)
        n = len(func.type.results)
        return [] if n == 0 else [result] if n == 1 else list(result)

    # --- commands -----------------------------------------------------------

    def run_command(self, cmd: dict, base: Path) -> None:
        kind = cmd["type"]
        handler = getattr(self, "cmd_" + kind, None)
        if handler is None:
            raise Skip(f"unsupported command {kind}")
        try:
            handler(cmd, base)
        except UnsupportedFeature as e:
            raise Skip(e.message) from None

    def cmd_module(self, cmd, base):
        path = base / cmd["filename"]
        self.define_current(cmd.get("name"), lambda: self.instantiate(self.compile(path)))

    def cmd_module_definition(self, cmd, base):
        name = cmd.get("name")
        try:
            self.definitions[name] = self.compile(base / cmd["filename"])
        except Skip as e:
            self.skipped_names[name] = str(e)
            raise

    def cmd_module_instance(self, cmd, base):
        module_name = cmd["module"]
        if module_name in self.skipped_names:
            self.skipped_names[cmd["instance"]] = self.skipped_names[module_name]
            raise Skip(self.skipped_names[module_name])
        module = self.definitions[module_name]
        self.define_current(cmd["instance"], lambda: self.instantiate(module))

    def cmd_register(self, cmd, base):
        try:
            instance = self.target(cmd.get("name"))
        except Skip as e:
            self.skipped_registrations[cmd["as"]] = str(e)
            raise
        self.registered[cmd["as"]] = instance.exports
        self.skipped_registrations.pop(cmd["as"], None)

    def cmd_action(self, cmd, base):
        self.action(cmd["action"])

    def cmd_assert_return(self, cmd, base):
        results = self.action(cmd["action"])
        expected = cmd["expected"]
        if len(results) != len(expected):
            raise Fail(f"expected {len(expected)} results, got {len(results)}")
        for e, a in zip(expected, results):
            if not self.check_result(e, a):
                raise Fail(f"expected {_show(e)}, got {a!r}")

    def _expect_trap(self, thunk, text: str) -> None:
        try:
            thunk()
        except Trap as e:
            if not _trap_matches(text, str(e)):
                raise Fail(f"expected trap {text!r}, got trap {str(e)!r}") from None
            return
        raise Fail(f"expected trap {text!r}, got no trap")

    def cmd_assert_trap(self, cmd, base):
        if "action" in cmd:
            self._expect_trap(lambda: self.action(cmd["action"]), cmd["text"])
            return
        module = self.compile(base / cmd["filename"])
        self._expect_trap(lambda: self.instantiate(module), cmd["text"])

    def cmd_assert_exhaustion(self, cmd, base):
        self._expect_trap(lambda: self.action(cmd["action"]), cmd["text"])

    def cmd_assert_uninstantiable(self, cmd, base):
        module = self.compile(base / cmd["filename"])
        self._expect_trap(lambda: self.instantiate(module), cmd["text"])

    def cmd_assert_unlinkable(self, cmd, base):
        module = self.compile(base / cmd["filename"])
        try:
            self.instantiate(module)
        except LinkError:
            return
        raise Fail("expected a link error, module instantiated")

    def cmd_assert_invalid(self, cmd, base):
        self._expect_rejected(cmd, base, InvalidModule)

    def cmd_assert_malformed(self, cmd, base):
        if cmd.get("module_type") == "text":
            # wasmaot reads text through `wasm-tools parse` (driver/wat.py): the
            # text must be rejected there, as `wasmaot validate x.wat` would;
            # a legacy script's text front end is wabt.js (legacy_wat).
            try:
                data = self.text_to_wasm(base / cmd["filename"])
            except MalformedModule:
                return
            try:
                load_module(data)
            except MalformedModule:
                return
            except WasmError as e:
                raise Fail(f"expected malformed text, got {e.kind}: {e}") from None
            raise Fail(f"expected malformed text ({cmd.get('text')}), module accepted")
        self._expect_rejected(cmd, base, MalformedModule)

    def cmd_assert_malformed_custom(self, cmd, base):
        """A custom section, or in text its annotation, is malformed.  Text: the
        annotation syntax is the text front end's to reject, as for
        assert_malformed.  Binary: a custom section never rejects a module."""
        if cmd.get("module_type") == "text":
            self.cmd_assert_malformed(cmd, base)
            return
        self._expect_accepted(cmd, base)

    def cmd_assert_invalid_custom(self, cmd, base):
        """A custom section's contents are invalid: custom sections carry no
        semantics (spec 5.5.3), so the module is still valid."""
        self._expect_accepted(cmd, base)

    def _expect_accepted(self, cmd, base) -> None:
        try:
            load_module(module_bytes(base / cmd["filename"]))
        except WasmError as e:
            raise Fail(f"expected a valid module ({cmd.get('text')} is only a custom section's "
                       f"problem), got {e.kind}: {e}") from None

    def _expect_rejected(self, cmd, base, error_type) -> None:
        path = base / cmd["filename"]
        if path.suffix == ".wat":  # a text module that must be invalid
            try:
                data = self.text_to_wasm(path)
            except WasmError as e:
                raise Skip(f"text module that wasm-tools cannot encode: {e.message}") from None
        else:
            data = path.read_bytes()
        try:
            load_module(data)
        except error_type:
            return
        except WasmError as e:
            raise Fail(f"expected {error_type.kind}, got {e.kind}: {e}") from None
        raise Fail(f"expected {error_type.kind} ({cmd.get('text')}), module accepted")

    def cmd_assert_exception(self, cmd, base):
        try:
            self.action(cmd["action"])
        except WasmException:
            return
        raise Fail("expected an exception, got none")


def _show(v: dict) -> str:
    return f"{v['type']}:{v.get('value')}"


def _is_canonical_nan(a: int, bits: int) -> bool:
    if bits == 32:
        return a & 0x7FFFFFFF == 0x7FC00000
    return a & 0x7FFFFFFFFFFFFFFF == 0x7FF8000000000000


def _is_arithmetic_nan(a: int, bits: int) -> bool:
    if bits == 32:
        return a & 0x7FC00000 == 0x7FC00000
    return a & 0x7FF8000000000000 == 0x7FF8000000000000


def _trap_matches(expected: str, actual: str) -> bool:
    if expected in actual:
        return True
    alias = TRAP_ALIASES.get(expected)
    return alias is not None and alias in actual


@dataclass
class ConvertedScript:
    """A script converted for running: json-from-wast's JSON (its module files
    beside it), and the text front end its text modules are read with."""

    script: dict
    text_to_wasm: Callable[[Path], bytes] = wat_to_wasm
    legacy: bool = False  # in legacy exception-handling text: its modules were encoded by wabt.js


def _json_from_wast(path: Path, out_dir: Path) -> dict:
    proc = subprocess.run(
        [wasm_tools_executable(), "json-from-wast", str(path), "-o", str(out_dir / "script.json"),
         "--wasm-dir", str(out_dir)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        err = diagnostic_to_error(proc.stderr, proc.returncode)
        raise WasmError(f"json-from-wast cannot convert it: {err.message}")
    return json.loads((out_dir / "script.json").read_text())


def convert_script(path: Path, out_dir: Path) -> ConvertedScript:
    """json-from-wast of the script; one in legacy exception handling's text
    syntax, which wasm-tools no longer parses, first goes through legacy_wat
    (its modules encoded by wabt.js).  Raises WasmError (LegacyTextUnavailable
    when node or wabt.js is missing) with one line."""
    try:
        return ConvertedScript(_json_from_wast(path, out_dir))
    except WasmError as e:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            raise e from None
        if not legacy_wat.is_legacy_failure(e, text):
            raise
    wabt = legacy_wat.Wabt.find()
    rewritten = legacy_wat.rewrite_script(text, wabt)
    binary_script = out_dir / f"{Path(path).stem}.binary.wast"
    binary_script.write_text(rewritten.text, encoding="utf-8")
    try:
        script = _json_from_wast(binary_script, out_dir)
    except WasmError as e:
        raise WasmError(f"{e.message} (after wabt.js encoded its legacy-syntax modules)") from None
    return ConvertedScript(script, lambda p: legacy_wat.wabt_text_to_wasm(Path(p).read_bytes(), wabt),
                           legacy=True)


def convert(path: Path, out_dir: Path) -> dict:
    """The script's JSON (see convert_script); raises WasmError with one line."""
    return convert_script(path, out_dir).script


def run_file(path: str | os.PathLike, *, opt_level: int = 2, target: str | None = None,
             explicit_bounds_checks: bool = False, cpu: str = "default",
             deterministic: bool = False) -> FileResult:
    """Runs one script: in this process, or (`target`) through a test
    executable built for that target, under qemu-user if it is foreign.
    `cpu`: the --cpu level the modules are compiled for; a level that does not
    exist for the target (or that this CPU lacks, in process) raises
    ToolchainError before the script runs."""
    from ..driver.llvm import check_host_has, cpu_choice
    from ..driver.targets import code_target

    if target is None:
        check_host_has(cpu)
    else:
        cpu_choice(code_target(target), cpu)
    result = FileResult(str(path))
    with tempfile.TemporaryDirectory(prefix="wasmaot-wast-") as tmp:
        try:
            converted = convert_script(Path(path), Path(tmp))
        except WasmError as e:
            result.error = e.message
            result.tool_missing = isinstance(e, legacy_wat.LegacyTextUnavailable)
            return result
        script = converted.script
        if target is None:
            backend = InProcess(opt_level, explicit_bounds_checks, cpu, deterministic)
            _run_commands(ScriptRunner(backend, converted.text_to_wasm), script, Path(tmp), result)
            return result
        from .wast_remote import TestExecutable

        try:
            backend = TestExecutable.build(script, Path(tmp), target, opt_level,
                                           explicit_bounds_checks, cpu, deterministic)
        except WasmError as e:
            result.error = e.message
            return result
        with backend:
            _run_commands(ScriptRunner(backend, converted.text_to_wasm), script, Path(tmp), result)
    return result


def _run_commands(runner: ScriptRunner, script: dict, base: Path, result: FileResult) -> None:
    for cmd in script["commands"]:
        line = cmd.get("line", 0)
        kind = cmd["type"]
        try:
            runner.run_command(cmd, base)
            result.outcomes.append(Outcome(line, "passed", kind))
        except Skip as e:
            result.outcomes.append(Outcome(line, "skipped", kind, str(e)))
        except Fail as e:
            result.outcomes.append(Outcome(line, "failed", kind, str(e)))
        except Trap as e:
            result.outcomes.append(Outcome(line, "failed", kind, f"unexpected trap: {e}"))
        except WasmError as e:
            result.outcomes.append(Outcome(line, "failed", kind, f"{e.kind}: {e}"))
        except Exception as e:  # a bug in wasmaot: keep running the script
            result.outcomes.append(Outcome(line, "failed", kind,
                                           f"internal error: {type(e).__name__}: {e}"))
