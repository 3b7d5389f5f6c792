"""Spec scripts on another target: one test executable per script.

The script logic (wast.ScriptRunner) runs here, but the modules cannot be
loaded into this process when they are compiled for another architecture.
So every module the script instantiates is compiled for the target, each with
its own descriptor symbol, and linked with the runtime and
`runtime_c/exe/wast_main.c` into one static executable.  It runs natively or
under qemu-user, and instantiates, calls and reads what the runner asks over
a pipe (the protocol is described in wast_main.c).  Linking checks, traps and
stack exhaustion are the target's own; only the import lookup by name and the
type checks of spectest's host functions happen here, as in the embedding
API.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import api
from ..codegen import abi
from ..errors import LinkError, ToolchainError, Trap, WasmError, WasmException
from ..wasm.types import RefType
from ..driver import llvm
from ..driver.compile import CompileRequest, compile_module, frontend
from ..driver.cpu import CpuChoice
from ..driver.host import host_arch
from ..driver.targets import code_target
from ..driver.toolchain import UNWIND_LIBS, compile_object, link_static, runtime_build
from .wast import SPECTEST_PRINTS, HostRef, module_bytes

# Commands whose file is a module to compile and instantiate.
MODULE_COMMANDS = ("module", "module_definition", "assert_trap", "assert_uninstantiable",
                   "assert_unlinkable")
REPLY_TIMEOUT = 300.0  # seconds for one request (a call may legitimately loop a while)
HOST_FUNC = 16  # WASMAOT_EXTERN_HOST_FUNC
SPECTEST_NAMES = ("global_i32", "global_i64", "global_f32", "global_f64", "table", "table64",
                  "memory")


class ExecutableFailed(WasmError):
    """The test executable died or stopped answering."""

    kind = "test executable"


def qemu_for(target: str) -> list[str]:
    """The command prefix that runs `target`'s executables here."""
    arch = target.split("-")[0]
    if arch == host_arch():
        return []
    qemu = shutil.which(f"qemu-{arch}-static") or shutil.which(f"qemu-{arch}")
    if qemu is None:
        raise ToolchainError(f"cannot run {target} executables here: qemu-{arch}-static not "
                             f"found (apt-get install qemu-user-static)")
    return [qemu]


@dataclass
class _Compiled:
    module: object = None  # wasm.module.Module
    ctx: object = None
    index: int = -1  # in the executable's module table
    error: WasmError | None = None


class TestExecutable:
    """A running test executable for one script; a wast.ScriptRunner backend."""

    def __init__(self, command: list, compiled: dict):
        self.compiled = compiled
        self.engine = api.Engine(registry=self)
        self.failed: str | None = None
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._buffer = b""

    # --- building ------------------------------------------------------------------

    @classmethod
    def build(cls, script: dict, base: Path, target: str, opt_level: int,
              explicit_bounds_checks: bool = False, cpu: str = "default",
              deterministic: bool = False, standalone: bool = False) -> TestExecutable:
        """`standalone`: compile the script's module as an executable's (CodegenOptions
        .standalone: fastcc records, `nounwind` without tags).  Only for a script with
        exactly one module: the modules of one executable call each other's records
        (imports, shared tables), and a record compiled alone in its process may not
        be called from another module's code."""
        names = _module_files(script)
        assert not standalone or len(names) == 1, \
            f"standalone needs a script with one module, not {len(names)}"
        # An unknown name or --cpu level, or no qemu, fails before any work.
        choice = llvm.cpu_choice(code_target(target), cpu)
        prefix = qemu_for(target)
        compiled: dict[str, _Compiled] = {}
        objects: list[bytes] = []
        for name in names:
            req = CompileRequest(target, opt_level, explicit_bounds_checks, cpu=cpu,
                                 descriptor_symbol=f"wasmaot_wast_m{len(objects)}",
                                 deterministic=deterministic, standalone=standalone)
            compiled[name] = _compile_one(base / name, req, len(objects), objects)
        path = _link(objects, base, target, choice)
        return cls([*prefix, str(path)], compiled)

    # --- the backend interface (see wast.ScriptRunner) ---------------------------------

    function_type = None  # set below: RemoteFuncRef

    def compile(self, path: Path) -> RemoteModule:
        """The module that build() compiled into the executable (or its error)."""
        c = self.compiled[path.name]
        if c.error is not None:
            raise c.error
        return RemoteModule(self, c)

    def spectest(self) -> dict:
        handles = self.request("spectest")
        out: dict = {}
        for name, valtype, h in zip(SPECTEST_NAMES, ("i32", "i64", "f32", "f64"), handles):
            out[name] = RemoteGlobal(self, h, valtype, valtype, False)
        funcref = api._named_type("funcref")
        out["table"] = RemoteExtern(self, "table", handles[4], funcref)
        out["table64"] = RemoteExtern(self, "table", handles[5], funcref)
        out["memory"] = RemoteExtern(self, "memory", handles[6])
        for name, params in SPECTEST_PRINTS.items():
            out[name] = SpectestPrint(self, "host", handles[7], (tuple(params), ()))
        out["shared_memory"] = RemoteExtern(self, "memory", handles[8])
        return out

    # --- api.Engine's registry -------------------------------------------------------------

    def wasmaot_rt_reserve_type_ids(self, n: int) -> int:
        return self.request("reserve", n)[0]

    def wasmaot_rt_register_type(self, type_id: int, super_id: int) -> int:
        self.request("type", type_id, super_id)
        return 0

    # --- the pipe ------------------------------------------------------------------------

    def request(self, *words) -> list[int]:
        """Sends one request; the numbers of an `ok` reply.  A `link` reply
        raises LinkError, a `trap` reply Trap."""
        if self.failed:
            raise ExecutableFailed(self.failed)
        try:
            self.proc.stdin.write((" ".join(map(str, words)) + "\n").encode())
            self.proc.stdin.flush()
            line = self._read_line()
        except (OSError, ExecutableFailed) as e:
            self.failed = self._why_failed(e)
            raise ExecutableFailed(self.failed) from None
        status, _, rest = line.partition(" ")
        if status == "ok":
            return [_word(w) for w in rest.split()]
        if status == "link":
            raise LinkError(rest)
        if status == "trap":
            code, _, message = rest.partition(" ")
            if int(code) == abi.TRAP_CODES["EXCEPTION"]:  # not a trap: an uncaught exception
                raise WasmException(None)
            trap = Trap(message)
            trap.trap_code = int(code)
            raise trap
        raise ExecutableFailed(f"unexpected reply {line!r}")

    def _read_line(self) -> str:
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if not sel.select(REPLY_TIMEOUT):
                    self.proc.kill()
                    raise ExecutableFailed(f"no reply in {REPLY_TIMEOUT:.0f} s")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ExecutableFailed("exited")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _why_failed(self, e: Exception) -> str:
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        err = self.proc.stderr.read().decode(errors="replace").strip().splitlines()
        return f"the test executable failed ({e}; exit {self.proc.returncode})" + (
            f": {err[-1]}" if err else "")

    def __enter__(self) -> TestExecutable:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def _module_files(script: dict) -> list[str]:
    """The files of the modules `script` compiles, each once, in script order."""
    names: dict[str, None] = {}
    for cmd in script["commands"]:
        if cmd["type"] in MODULE_COMMANDS and cmd.get("filename") is not None:
            names[cmd["filename"]] = None
    return list(names)


def _compile_one(path: Path, req: CompileRequest, index: int, objects: list) -> _Compiled:
    """Decodes, validates and compiles one module; a failure is kept and
    raised when the runner asks for the module (as api.compile would)."""
    try:
        data = module_bytes(path)
        module, ctx = frontend(data)
        objs, _ = compile_module(data, req, module=module, ctx=ctx, split=False)
    except WasmError as e:
        return _Compiled(error=e)
    objects.append(objs[0])
    return _Compiled(module, ctx, index)


def _modules_source(n: int, cpu: CpuChoice) -> str:
    names = [f"wasmaot_wast_m{i}" for i in range(n)]
    decls = "".join(f"extern const struct wasmaot_module_desc {s};\n" for s in names)
    table = ", ".join(f"&{s}" for s in names) or "0"
    return (f"/* Generated by wasmaot wast: the script's modules. */\n#include <stddef.h>\n"
            f"struct wasmaot_module_desc;\n{decls}"
            f"const struct wasmaot_module_desc *const wasmaot_wast_modules[] = {{ {table} }};\n"
            f"const size_t wasmaot_wast_nmodules = {n};\n"
            f"/* The --cpu level's features, checked first (runtime_c/cpu.c). */\n"
            f"const unsigned long long wasmaot_wast_cpu_features = {cpu.mask:#x}ull;\n"
            f"const char wasmaot_wast_cpu_level[] = \"{cpu.described()}\";\n")


def _link(objects: list, base: Path, target: str, cpu: CpuChoice) -> Path:
    t = code_target(target).toolchain("musl")
    runtime = runtime_build(t)
    out = Path(tempfile.mkdtemp(prefix="exe-", dir=base))
    inputs = []
    for i, obj in enumerate(objects):
        (out / f"m{i}.o").write_bytes(obj)
        inputs.append(f"m{i}.o")
    (out / "modules.c").write_text(_modules_source(len(objects), cpu))
    compile_object(out / "modules.c", out / "modules.o", t, include_dirs=runtime.include_dirs)
    inputs += ["modules.o", str(runtime.main_object("wast_main"))]
    link_static(t, "wast-test", [*inputs, str(runtime.archive)],
                ("-Wl,--gc-sections", "-lm", *UNWIND_LIBS),
                f"linking the test executable for {target}", out)
    return out / "wast-test"


# --- what the runner holds: handles to objects in the executable ------------------------


class RemoteExtern:
    """An object in the executable; `engine_type` is a table's element type
    with engine-wide type ids (see api._global_valtype)."""

    def __init__(self, exe: TestExecutable, kind: str, handle: int, engine_type=None):
        self.exe, self.kind, self.handle, self.engine_type = exe, kind, handle, engine_type


class RemoteFuncRef(RemoteExtern):
    """A non-null function reference that a call returned."""


TestExecutable.function_type = RemoteFuncRef


class RemoteFunction(RemoteFuncRef):
    def __init__(self, exe, handle, functype):
        super().__init__(exe, "func", handle)
        self.type = functype

    def call_bits(self, *args):
        cells = [_to_cell(t, a) for t, a in zip(self.type.params, args)]
        results = self.exe.request("invoke", self.handle, len(self.type.results), *cells)
        values = [_from_cell(self.exe, t, v) for t, v in zip(self.type.results, results)]
        return None if not values else values[0] if len(values) == 1 else tuple(values)


class RemoteGlobal(RemoteExtern):
    def __init__(self, exe, handle, valtype, engine_type, mutable: bool):
        super().__init__(exe, "global", handle, engine_type)
        self.valtype, self.mutable = valtype, mutable

    def get(self, *, bits: bool = False):
        return _from_cell(self.exe, self.valtype, self.exe.request("get", self.handle)[0])


class SpectestPrint(RemoteExtern):
    def __init__(self, exe, kind, handle, key):
        super().__init__(exe, kind, handle)
        self.key = key  # (params, results), as api._functype_key


class RemoteModule:
    def __init__(self, exe: TestExecutable, compiled: _Compiled):
        self.exe, self.c = exe, compiled

    @property
    def imports(self) -> list:
        return self.c.module.imports

    def instantiate(self, registered: dict) -> RemoteExports:
        c = self.c
        type_ids = self.exe.engine.type_ids(c.module, c.ctx)
        words = []
        for imp in c.module.imports:
            try:
                value = registered[imp.module][imp.name]
            except KeyError:
                raise LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been "
                                f"defined") from None
            what = f"`{imp.module}::{imp.name}`"
            if imp.kind == "global" and isinstance(value, RemoteGlobal):
                want_t = _engine_type(type_ids, c.ctx.valtype(imp.desc.valtype))
                api.check_global_import(self.exe.engine, what, want_t, imp.desc.mutable,
                                        value.engine_type, value.mutable)
            elif imp.kind == "table" and value.kind == "table":
                want_t = _engine_type(type_ids, c.ctx.valtype(imp.desc.reftype))
                api.check_table_import(self.exe.engine, what, want_t, value.engine_type)
            if isinstance(value, SpectestPrint):
                want = c.ctx.types.comp(c.ctx.types.canon[imp.desc]) if imp.kind in (
                    "func", "func_exact") else None
                if want is None or api._functype_key(want) != value.key:
                    raise LinkError(f"incompatible import type for `{imp.module}::{imp.name}`")
                words += [HOST_FUNC, value.handle]
            else:
                words += [abi.EXTERN_KINDS[value.kind], value.handle]
        handle = self.exe.request("instantiate", c.index, len(type_ids), *type_ids,
                                  len(c.module.imports), *words)[0]
        return RemoteInstance(self.exe, c, handle, type_ids)


class RemoteInstance:
    def __init__(self, exe, compiled, handle, type_ids):
        self.exports = RemoteExports(exe, compiled, handle, type_ids)


def _engine_type(type_ids: list, t):
    """`t` with a concrete heap type replaced by its engine-wide id."""
    if type(t) is RefType and type(t.heap) is int:
        return RefType(t.nullable, type_ids[t.heap], t.exact)
    return t


class RemoteExports:
    """An instance's exports by name, fetched from the executable on first use."""

    def __init__(self, exe: TestExecutable, compiled: _Compiled, handle: int, type_ids: list):
        self.exe, self.c, self.handle, self.type_ids = exe, compiled, handle, type_ids
        self._items = {e.name: e for e in compiled.module.exports}
        self._cache: dict = {}

    def __getitem__(self, name: str):
        if name not in self._cache:
            e = self._items[name]
            kind = "func" if e.kind == "func_exact" else e.kind
            h = self.exe.request("export", self.handle, abi.EXTERN_KINDS[kind], e.index)[0]
            ctx = self.c.ctx
            if kind == "func":
                self._cache[name] = RemoteFunction(self.exe, h, ctx.types.comp(ctx.funcs[e.index]))
            elif kind == "global":
                g = ctx.globals[e.index]
                self._cache[name] = RemoteGlobal(self.exe, h, g.valtype,
                                                 _engine_type(self.type_ids, g.valtype), g.mutable)
            elif kind == "table":
                self._cache[name] = RemoteExtern(
                    self.exe, kind, h,
                    _engine_type(self.type_ids, ctx.tables[e.index].reftype))
            else:
                self._cache[name] = RemoteExtern(self.exe, kind, h)
        return self._cache[name]

    def __contains__(self, name) -> bool:
        return name in self._items


# --- values: the 64-bit contents of a cell ---------------------------------------------

_MASK64 = (1 << 64) - 1


def _is_extern(t) -> bool:
    return type(t) is RefType and t.heap in ("extern", "noextern")


def _word(text: str) -> int:
    """A number of a reply: a handle, or a cell as LOW:HIGH (wast_main.c parse_value)."""
    low, _, high = text.partition(":")
    return int(low) | (int(high) << 64 if high else 0)


def _to_cell(t, value) -> int | str:
    if t == "v128":
        v = value & ((1 << 128) - 1)
        return f"{v & _MASK64}:{v >> 64}"
    if type(t) is not RefType:
        return value & _MASK64
    if value is None:
        return 0
    if isinstance(value, HostRef):
        return 8 * (value.n + 1)  # never 0: that is null
    if isinstance(value, RemoteExtern):
        raise WasmError("passing a function reference to a call is not supported")
    raise WasmError(f"cannot pass {value!r} as {t}")


def _from_cell(exe: TestExecutable, t, cell: int):
    if t == "v128":
        return cell
    cell &= _MASK64
    if type(t) is not RefType:
        return cell
    if cell == 0:
        return None
    if _is_extern(t):
        return HostRef(cell // 8 - 1)
    return RemoteFuncRef(exe, "func", cell)
