"""The Python embedding API, modelled on wasmtime-py.

    module = wasmaot.compile(wasm_bytes_or_path)          # native code, cached
    instance = module.instantiate({"env": {"log": wasmaot.Func([I32], [], print)}})
    instance.exports["add"](1, 2)

Values: i32/i64 are Python ints, f32/f64 floats (`Function.call_bits` passes
and returns their exact bit patterns as ints), funcref is a `Function` or
None, externref any Python object or None.  A trap raises `wasmaot.Trap`
(message, `.frames` backtrace); an exception raised by a host function
propagates unchanged through the wasm frames to the caller.  Link problems
raise `wasmaot.LinkError` naming the import.

One `Engine` (the default one unless given) owns the canonical type ids that
make `call_indirect` work across modules and the externref handles.
"""

from __future__ import annotations

import struct
import tempfile
import threading
import weakref
from pathlib import Path

from . import __version__
from ._ffi import (
    HOST_THROW, errbuf_text, ffi, load_module_library, load_runtime, make_trap, new_errbuf,
)
from .codegen import abi
from .codegen.module import CodegenOptions
from .driver import toolchain
from .driver.cache import cache_root, module_key
from .driver.compile import CompileRequest, compile_module, frontend
from .driver.targets import host_code_target
from .errors import (  # noqa: F401 (Trap)
    LinkError, Trap, UnsupportedFeature, WasmError, WasmException,
)
from .wasm.types import FuncType, RefType

__all__ = ["Engine", "Module", "Instance", "Function", "Memory", "Table", "Global", "Func",
           "Tag", "Exn", "compile", "Trap", "WasmException", "LinkError"]


# --- engine: type ids and externref handles ------------------------------------------


class Engine:
    """Process-wide state of embedded wasm: canonical type ids (shared with the
    runtime's registry) and the Python objects behind externrefs."""

    def __init__(self, registry=None) -> None:
        # Where canonical type ids are reserved and registered: this process's
        # runtime, or (the wast test executable) another process's.
        self._registry = registry
        self._lock = threading.RLock()
        self._type_ids: dict[tuple, int] = {}
        # Weak: an engine must not keep instances alive (each holds reservations).
        self._functions = weakref.WeakValueDictionary()  # record address -> Function
        self._func_arrays: list = []  # (vmctx->funcs address, count, weakref to Instance)
        self._failed_instances: list = []  # partly initialized, still referenced
        self._supers: dict[int, int | None] = {}  # type id -> supertype id
        self._kinds: dict[int, str] = {}  # type id -> "func" / "struct" / "array"
        self._externs: dict[int, object] = {}
        self._extern_ids: dict[int, int] = {}  # id(obj) -> handle
        self._pending = threading.local()
        self._tags = weakref.WeakValueDictionary()  # tag instance address -> Tag

    def type_ids(self, module, ctx) -> list[int]:
        """Process-wide canonical id of each of the module's type indices."""
        lib = self._registry or load_runtime()
        ids: list[int] = [0] * len(module.types)
        with self._lock:
            for group in module.rec_groups:
                start, n = group.start, len(group.subtypes)

                def ref(x):
                    return ("rec", x - start) if x >= start else ("id", ids[x])

                key = tuple(_subtype_key(st, ref) for st in group.subtypes)
                base = self._type_ids.get(key)
                if base is None:
                    base = lib.wasmaot_rt_reserve_type_ids(n)
                    if base < 0:
                        raise WasmError("too many distinct types in this process")
                    self._type_ids[key] = base
                    for i, st in enumerate(group.subtypes):
                        sup = st.supertypes[0] if st.supertypes else None
                        sup_id = -1 if sup is None else (
                            base + sup - start if sup >= start else ids[sup])
                        lib.wasmaot_rt_register_type(base + i, sup_id)
                        self._supers[base + i] = None if sup_id < 0 else sup_id
                        self._kinds[base + i] = _comp_kind(st.comp)
                for i in range(n):
                    ids[start + i] = base + i
        return ids

    def extern_handle(self, obj) -> object:
        if obj is None:
            return ffi.NULL
        with self._lock:
            handle = self._extern_ids.get(id(obj))
            if handle is None:
                handle = 8 * (len(self._externs) + 1)
                self._externs[handle] = obj
                self._extern_ids[id(obj)] = handle
        return ffi.cast("void *", handle)

    def extern_object(self, ptr) -> object:
        if ptr == ffi.NULL:
            return None
        return self._externs[int(ffi.cast("uintptr_t", ptr))]


def _comp_kind(comp) -> str:
    if type(comp) is FuncType:
        return "func"
    return "struct" if hasattr(comp, "fields") else "array"


_ABSTRACT_SUPERS = {
    "any": {"any"}, "eq": {"eq", "any"}, "i31": {"i31", "eq", "any"},
    "struct": {"struct", "eq", "any"}, "array": {"array", "eq", "any"},
    "none": {"none", "i31", "struct", "array", "eq", "any"}, "func": {"func"},
    "nofunc": {"nofunc", "func"}, "extern": {"extern"}, "noextern": {"noextern", "extern"},
    "exn": {"exn"}, "noexn": {"noexn", "exn"},
}
_KIND_SUPERS = {"func": {"func"}, "struct": {"struct", "eq", "any"},
                "array": {"array", "eq", "any"}}
_KIND_BOTTOM = {"func": "nofunc", "struct": "none", "array": "none"}


def _global_valtype(module: "Module", t):
    """A valtype with concrete heap types replaced by engine-wide type ids, so
    types of different modules compare."""
    if type(t) is RefType and type(t.heap) is int:
        return RefType(t.nullable, module.type_ids[t.heap], t.exact)
    return t


def _engine_matches(engine: Engine, a, b) -> bool:
    """a <: b for engine-wide valtypes (spec 3.3 "Matching"; custom descriptors:
    below an exact type are only that type, exactly, and its hierarchy's bottom)."""
    if a == b:
        return True
    if type(a) is not RefType or type(b) is not RefType:
        return False
    if a.nullable and not b.nullable:
        return False
    ha, hb = a.heap, b.heap
    if b.exact:
        if a.exact:
            return ha == hb
        return type(ha) is str and ha == _KIND_BOTTOM[engine._kinds[hb]]
    if ha == hb:
        return True
    if type(ha) is str and type(hb) is str:
        return hb in _ABSTRACT_SUPERS[ha]
    if type(ha) is str:
        return ha == _KIND_BOTTOM[engine._kinds[hb]]
    if type(hb) is str:
        return hb in _KIND_SUPERS[engine._kinds[ha]]
    sup = engine._supers.get(ha)
    while sup is not None:
        if sup == hb:
            return True
        sup = engine._supers.get(sup)
    return False


def _subtype_key(st, ref) -> tuple:
    def vt(t):
        if type(t) is RefType and type(t.heap) is int:
            return (t.nullable, t.exact, ref(t.heap))
        return t
    comp = st.comp
    if type(comp) is FuncType:
        ck = ("func", tuple(map(vt, comp.params)), tuple(map(vt, comp.results)))
    elif hasattr(comp, "fields"):
        ck = ("struct", tuple((vt(f.storage), f.mutable) for f in comp.fields))
    else:
        ck = ("array", vt(comp.field.storage), comp.field.mutable)
    return (st.final, tuple(ref(x) for x in st.supertypes), ck)


_default_engine: Engine | None = None


def default_engine() -> Engine:
    global _default_engine
    if _default_engine is None:
        _default_engine = Engine()
    return _default_engine


# --- compiling ---------------------------------------------------------------------


def _cache_dir() -> Path:
    return cache_root() / "modules"


def compile(source, *, target: str = "host", opt_level: int = 2,
            bounds_checks: str = "guard", interruptible: bool = False,
            deterministic: bool = False, engine: Engine | None = None,
            cpu: str = "default") -> "Module":
    """Compile a module (bytes, or a path to .wasm/.wat) to native code for this
    process.  The shared object is cached by content hash, flags and version.

    `interruptible=True` adds a check at every loop header so that a timeout
    (`instantiate(timeout=...)`, `Instance.timeout`) stops any running code
    with the trap "interrupt"; without it the code has no such checks and
    cannot be given a timeout (as wasmtime's `epoch_interruption` config).

    `cpu`: a --cpu level (driver/cpu.py) of this machine's architecture; this
    CPU must have its features (ToolchainError naming those it lacks).

    `deterministic=True` makes results the same bytes on every CPU: relaxed
    SIMD takes one fixed choice and every NaN float arithmetic produces is
    the positive canonical NaN (CodegenOptions.deterministic)."""
    data = _read_source(source)
    if target not in ("host", host_code_target().name):
        raise WasmError(f"the embedding API runs code in this process: target must be "
                        f"'host', not {target!r}")
    from .driver.llvm import check_host_has
    choice = check_host_has(cpu)
    module, ctx = frontend(data)
    req = CompileRequest(host_code_target().name, opt_level, bounds_checks == "explicit",
                         cpu=cpu, interruptible=interruptible, deterministic=deterministic)
    # The CPU itself, not just "native": a cache shared by machines must not hand
    # one machine's native code to another.
    key = module_key(data, f"{__version__} {req!r} {choice.llvm_cpu} {choice.llvm_features}")
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    so_path = cache / f"{key}.so"
    if not so_path.exists():
        objects, _ = compile_module(data, req, module=module, ctx=ctx)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            paths = []
            for i, obj in enumerate(objects):
                p = Path(tmp) / f"part{i}.o"
                p.write_bytes(obj)
                paths.append(p)
            toolchain.link_module_shared(paths[0], so_path, "host", extra_inputs=tuple(paths[1:]))
    return Module(module, ctx, so_path, req.codegen, engine or default_engine())


def _read_source(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    path = Path(source)
    if path.suffix in (".wat", ".wast"):
        from .driver.wat import wat_to_wasm
        return wat_to_wasm(path)
    return path.read_bytes()


class Module:
    """A compiled module, loaded into this process."""

    def __init__(self, module, ctx, so_path: Path, options: CodegenOptions, engine: Engine):
        self.module = module
        self.ctx = ctx
        self.path = so_path
        self.engine = engine
        self.options = options
        self._lib, self._desc = load_module_library(so_path)
        self.type_ids = engine.type_ids(module, ctx)

    @property
    def imports(self) -> list:
        return list(self.module.imports)

    @property
    def exports(self) -> list:
        return list(self.module.exports)

    def instantiate(self, imports=None, *, timeout: float | None = None) -> "Instance":
        """`timeout`: seconds each call into the instance from Python (and its
        start function) may run before it traps "interrupt"; None: no limit.
        Needs a module compiled with interruptible=True."""
        return Instance(self, imports or {}, timeout=timeout)


# --- instances and their exports -------------------------------------------------------


class _deadline:
    """Arms the runtime's deadline for an outermost call into `instance` that
    has a timeout (the runtime has one deadline per process, and wasm runs on
    one thread at a time); calls made from host callbacks run under the
    outer call's deadline.  Disarms it when the call returns."""

    def __init__(self, instance: "Instance") -> None:
        self.instance = instance
        self.armed = False

    def __enter__(self):
        timeout = self.instance.timeout
        engine = self.instance.engine
        if timeout is None or getattr(engine._pending, "in_call", False):
            return self
        if not self.instance.module.options.interruptible:
            raise WasmError("a timeout needs a module compiled with interruptible=True")
        if not timeout > 0:
            raise WasmError(f"timeout must be a positive number of seconds, not {timeout!r}")
        ns = min(int(timeout * 1e9), _MAX_TIMEOUT_NS) or 1
        if load_runtime().wasmaot_set_timeout(ns) != 0:
            raise WasmError("cannot start the runtime's watchdog thread")
        engine._pending.in_call = True
        self.armed = True
        return self

    def __exit__(self, *exc) -> None:
        if self.armed:
            load_runtime().wasmaot_set_timeout(0)
            self.instance.engine._pending.in_call = False


# A year: far beyond any real timeout, and well inside the runtime's arithmetic.
_MAX_TIMEOUT_NS = 365 * 24 * 3600 * 10**9


class Instance:
    def __init__(self, module: Module, imports, *, timeout: float | None = None) -> None:
        self.module = module
        self.engine = module.engine
        self.timeout = timeout
        lib = load_runtime()
        self._keepalive: list = []
        externs = self._link(imports)
        config = ffi.new("struct wasmaot_config *")
        config.explicit_bounds_checks = int(module.options.explicit_bounds_checks)
        ids = ffi.new("uint64_t[]", module.type_ids or [0])
        err = new_errbuf()
        ptr = lib.wasmaot_instance_new(module._desc, externs, ids, config, err, len(err))
        if ptr == ffi.NULL:
            raise LinkError(errbuf_text(err))
        self._ptr = ffi.gc(ptr, lib.wasmaot_instance_free)
        self._keepalive.append(ids)
        funcs = lib.wasmaot_instance_vmctx(self._ptr).funcs
        arrays = self.engine._func_arrays
        arrays[:] = [a for a in arrays if a[2]() is not None]
        arrays.append((int(ffi.cast("uintptr_t", funcs)), len(module.ctx.funcs),
                       weakref.ref(self)))
        self._tags = [Tag._of_instance(self, i) for i in range(len(module.ctx.tags))]
        trap = ffi.new("struct wasmaot_trap_info *")
        with _deadline(self):
            code = lib.wasmaot_instance_init(self._ptr, trap)
        if code:
            # Segments applied before the trap stay (spec): tables of other
            # instances may now hold this instance's functions, so it must live on.
            self.engine._failed_instances.append(self)
            self.engine._raise_trap(code, trap, self)
        self.exports = Exports(self)

    # --- linking -------------------------------------------------------------

    def _resolve(self, imports, imp, i):
        if isinstance(imports, (list, tuple)):
            return imports[i]
        try:
            return imports[imp.module][imp.name]
        except KeyError:
            raise LinkError(f"unknown import: `{imp.module}::{imp.name}` has not been "
                            f"defined") from None

    def _link(self, imports):
        m = self.module.module
        externs = ffi.new("struct wasmaot_extern[]", max(1, len(m.imports)))
        self._keepalive.append(externs)
        for i, imp in enumerate(m.imports):
            value = self._resolve(imports, imp, i)
            what = f"`{imp.module}::{imp.name}`"
            e = externs[i]
            if imp.kind in ("func", "func_exact"):
                expected = self.module.ctx.types.comp(self.module.ctx.types.canon[imp.desc])
                if isinstance(value, Func):
                    if value.functype_key() != _functype_key(expected):
                        raise LinkError(f"incompatible import type for {what}: function type "
                                        f"mismatch")
                    e.kind = 16  # WASMAOT_EXTERN_HOST_FUNC
                    e.of.host = value._record(self.engine)
                    self._keepalive.append(value)
                elif isinstance(value, Function):
                    want = self.module.type_ids[imp.desc]
                    if not func_import_matches(value._record.type_id, want,
                                               exact=imp.kind == "func_exact"):
                        raise LinkError(f"incompatible import type for {what}: function type "
                                        f"mismatch")
                    e.kind = abi.EXTERN_KINDS["func"]
                    e.of.func = value._record
                    self._keepalive.append(value)
                else:
                    raise LinkError(f"incompatible import type for {what}: expected a function")
            elif imp.kind == "memory":
                if not isinstance(value, Memory):
                    raise LinkError(f"incompatible import type for {what}: expected a memory")
                _check_limits(what, imp.desc.limits, value.size(), value._max(),
                              value._ptr.is64)
                e.kind = abi.EXTERN_KINDS["memory"]
                e.of.memory = value._ptr
                self._keepalive.append(value)
            elif imp.kind == "table":
                if not isinstance(value, Table):
                    raise LinkError(f"incompatible import type for {what}: expected a table")
                _check_limits(what, imp.desc.limits, value.size(), value._max(), value._ptr.is64)
                want_t = _global_valtype(self.module, self.module.ctx.valtype(imp.desc.reftype))
                check_table_import(self.engine, what, want_t, value._engine_valtype())
                e.kind = abi.EXTERN_KINDS["table"]
                e.of.table = value._ptr
                self._keepalive.append(value)
            elif imp.kind == "global":
                if not isinstance(value, Global):
                    raise LinkError(f"incompatible import type for {what}: expected a global")
                want_t = _global_valtype(self.module, self.module.ctx.valtype(imp.desc.valtype))
                check_global_import(self.engine, what, want_t, imp.desc.mutable,
                                    value._engine_valtype(), bool(value._ptr.mutable))
                e.kind = abi.EXTERN_KINDS["global"]
                setattr(e.of, "global", value._ptr)
                self._keepalive.append(value)
            elif imp.kind == "tag":
                if not isinstance(value, Tag):
                    raise LinkError(f"incompatible import type for {what}: expected a tag")
                want = self.module.ctx.types.comp(self.module.ctx.types.canon[imp.desc.typeidx])
                e.kind = abi.EXTERN_KINDS["tag"]
                e.of.tag = value._link(self.engine, self.module.type_ids[imp.desc.typeidx],
                                       want, what)
                self._keepalive.append(value)
            else:
                raise LinkError(f"unsupported import kind {imp.kind} for {what}")
        return externs


def func_import_matches(have: int, want: int, *, exact: bool) -> bool:
    """Whether a function of canonical type `have` fills an import of type `want`:
    a subtype will do, unless the import is exact (custom descriptors), which
    admits the type itself only.  The runtime's link_import applies the same rule
    (runtime_c/instance.c); this check is here to name the import in the error."""
    if exact:
        return have == want
    return bool(load_runtime().wasmaot_rt_func_type_matches(ffi.NULL, have, want))


def check_table_import(engine: Engine, what: str, want_t, have_t) -> None:
    """Element types of an imported table must be equal (spec: tables are mutable)."""
    if not (_engine_matches(engine, have_t, want_t) and _engine_matches(engine, want_t, have_t)):
        raise LinkError(f"incompatible import type for {what}: table type mismatch")


def check_global_import(engine: Engine, what: str, want_t, want_mutable: bool, have_t,
                        have_mutable: bool) -> None:
    """An immutable global may be a subtype; a mutable one must be equal."""
    ok = have_mutable == want_mutable and _engine_matches(engine, have_t, want_t) and (
        not want_mutable or _engine_matches(engine, want_t, have_t))
    if not ok:
        raise LinkError(f"incompatible import type for {what}: global type mismatch")


def _check_limits(what, want, size, actual_max, is64) -> None:
    if bool(is64) != want.is64:
        raise LinkError(f"incompatible import type for {what}: address type mismatch")
    if size < want.min:
        raise LinkError(f"incompatible import type for {what}: size below the minimum")
    if want.max is not None and (actual_max is None or actual_max > want.max):
        raise LinkError(f"incompatible import type for {what}: maximum above the limit")


def _valtype_code(ctx, t) -> int:
    if type(t) is RefType:
        heap = t.heap
        if type(heap) is int:
            comp = ctx.types.comp(heap)
            return 0x70 if type(comp) is FuncType else 0x6E
        return {"func": 0x70, "nofunc": 0x70, "extern": 0x6F, "noextern": 0x6F}.get(heap, 0x6E)
    return abi.VALTYPE_CODES[t]


def _functype_key(ft: FuncType) -> tuple:
    return (tuple(map(_simple_type, ft.params)), tuple(map(_simple_type, ft.results)))


def _simple_type(t) -> str:
    if type(t) is RefType:
        if t.heap in ("exn", "noexn"):
            return "exnref"
        return "externref" if t.heap in ("extern", "noextern") else "funcref"
    return t


class Exports:
    """An instance's exports by name (mapping and attribute access)."""

    def __init__(self, instance: Instance):
        self._instance = instance
        self._items = {e.name: e for e in instance.module.module.exports}
        self._cache: dict = {}

    def __getitem__(self, name: str):
        if name not in self._cache:
            e = self._items[name]
            self._cache[name] = self._instance._extern(e.kind, e.index)
        return self._cache[name]

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __contains__(self, name) -> bool:
        return name in self._items

    def __iter__(self):
        return iter(self._items)

    def keys(self):
        return self._items.keys()


def _instance_extern(self: Instance, kind: str, index: int):
    lib = load_runtime()
    ctx = self.module.ctx
    if kind == "func":
        record = lib.wasmaot_instance_func(self._ptr, index)
        known = self.engine._functions.get(int(ffi.cast("uintptr_t", record)))
        if known is not None:
            return known
        ft = ctx.types.comp(ctx.funcs[index])
        typeidx = self.module.module.func_typeidxs[index]
        thunk = self.module._desc.entry_thunks[typeidx]
        return Function(self, record, ft, thunk)
    if kind == "memory":
        return Memory._wrap(lib.wasmaot_instance_memory(self._ptr, index), self)
    if kind == "table":
        return Table._wrap(lib.wasmaot_instance_table(self._ptr, index), self,
                           ctx.tables[index].reftype)
    if kind == "global":
        g = ctx.globals[index]
        return Global._wrap(lib.wasmaot_instance_global(self._ptr, index), self, g.valtype)
    if kind == "tag":
        return self._tags[index]
    raise UnsupportedFeature(f"{kind} is not supported yet (a {kind} export)")


Instance._extern = _instance_extern


def _raise_trap(self: Engine, code: int, trap, instance) -> None:
    pending = getattr(self._pending, "exc", None)
    if code == abi.TRAP_CODES["HOST"] and pending is not None:
        self._pending.exc = None
        raise pending
    if code == abi.TRAP_CODES["EXCEPTION"]:  # the runtime pinned it for us
        raise Exn._wrap(self, trap.exception, pinned=True).exception()
    raise make_trap(code, trap)


Engine._raise_trap = _raise_trap


# --- values -------------------------------------------------------------------------

_F32 = struct.Struct("<f")
_F32_BITS = struct.Struct("<I")


def _store_value(engine: Engine, cell, t, value, *, bits: bool) -> None:
    if t == "i32":
        cell.i32 = _wrap_signed(value, 32)
    elif t == "i64":
        cell.i64 = _wrap_signed(value, 64)
    elif t == "f32":
        if bits:
            cell.i32 = _wrap_signed(value, 32)
        else:
            cell.f32 = value
    elif t == "f64":
        if bits:
            cell.i64 = _wrap_signed(value, 64)
        else:
            cell.f64 = value
    elif type(t) is RefType:
        cell.ref = _ref_to_ptr(engine, t, value)
    elif t == "v128":
        cell.v128[0:16] = v128_bytes(value)
    else:
        raise WasmError(f"cannot pass a {t} value from Python yet")


def v128_bytes(value) -> bytes:
    """A v128 from Python: 16 bytes (memory order), or an int (the 128-bit little-
    endian value; a negative one is taken modulo 2^128), as wasmtime-py accepts."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if len(data) != 16:
            raise WasmError(f"a v128 value is 16 bytes, not {len(data)}")
        return data
    if isinstance(value, int) and not isinstance(value, bool):
        return (value & ((1 << 128) - 1)).to_bytes(16, "little")
    raise WasmError(f"a v128 value is an int or 16 bytes, not {type(value).__name__}")


def _load_value(engine: Engine, cell, t, *, bits: bool, instance=None, pinned: bool = False):
    """The Python value of `cell`.  pinned: an exnref in it was pinned for us (an
    entry thunk's result), and the Exn takes that pin over."""
    if t == "i32":
        return cell.i32
    if t == "i64":
        return cell.i64
    if t == "f32":
        return cell.i32 & 0xFFFFFFFF if bits else cell.f32
    if t == "f64":
        return cell.i64 & 0xFFFFFFFFFFFFFFFF if bits else cell.f64
    if type(t) is RefType:
        return _ptr_to_ref(engine, t, cell.ref, pinned=pinned)
    if t == "v128":  # an unsigned int, as wasmtime-py returns it
        return int.from_bytes(bytes(cell.v128), "little")
    raise WasmError(f"cannot read a {t} value into Python yet")


def _wrap_signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _is_func_ref(t: RefType) -> bool:
    return t.heap in ("func", "nofunc") or type(t.heap) is int


def _is_exn_ref(t: RefType) -> bool:
    return t.heap in ("exn", "noexn")


def _ref_to_ptr(engine: Engine, t: RefType, value):
    if value is None:
        return ffi.NULL
    if _is_exn_ref(t):
        if not isinstance(value, Exn):
            raise TypeError("an exnref must be a wasmaot.Exn or None")
        return value._ptr  # the caller's Exn keeps it pinned while the value is stored
    if _is_func_ref(t):
        if not isinstance(value, Function):
            raise TypeError("a funcref must be a wasmaot.Function or None")
        return value._record
    return engine.extern_handle(value)


def _ptr_to_ref(engine: Engine, t: RefType, ptr, *, pinned: bool = False):
    if ptr == ffi.NULL:
        return None
    if _is_exn_ref(t):
        return Exn._wrap(engine, ptr, pinned=pinned)
    if _is_func_ref(t):
        return Function._from_record(engine, ptr)
    return engine.extern_object(ptr)


class Function:
    """A wasm function (an export, or a funcref value)."""

    def __init__(self, instance, record, functype: FuncType, thunk):
        self._instance = instance  # keeps the instance (and its code) alive
        self._record = record
        self.type = functype
        self._thunk = thunk
        instance.engine._functions[int(ffi.cast("uintptr_t", record))] = self

    @classmethod
    def _from_record(cls, engine, ptr):
        addr = int(ffi.cast("uintptr_t", ptr))
        f = engine._functions.get(addr)
        if f is None:
            # A function the embedder has not seen yet: find the instance whose
            # funcs array holds the record.
            for base, count, ref in engine._func_arrays:
                instance = ref()
                if instance is not None and base <= addr < base + count * abi.FUNCREF.size:
                    return instance._extern("func", (addr - base) // abi.FUNCREF.size)
            raise WasmError("a function reference from an instance unknown to this engine")
        return f

    def __call__(self, *args):
        return self._call(args, bits=False)

    def call_bits(self, *args):
        """Like calling, but f32/f64 arguments and results are bit patterns (ints)."""
        return self._call(args, bits=True)

    def _call(self, args, *, bits: bool):
        ft = self.type
        if len(args) != len(ft.params):
            raise TypeError(f"expected {len(ft.params)} arguments, got {len(args)}")
        engine = self._instance.engine
        cells = ffi.new("union wasmaot_value[]", max(1, len(args)))
        for i, (t, v) in enumerate(zip(ft.params, args)):
            _store_value(engine, cells[i], t, v, bits=bits)
        results = ffi.new("union wasmaot_value[]", max(1, len(ft.results)))
        trap = ffi.new("struct wasmaot_trap_info *")
        with _deadline(self._instance):
            code = load_runtime().wasmaot_invoke(self._thunk, self._record, cells, results, trap)
        if code:
            engine._raise_trap(code, trap, self._instance)
        # The entry thunk pinned each exnref result for us (runtime_c/exception.c).
        out = [_load_value(engine, results[i], t, bits=bits, pinned=True)
               for i, t in enumerate(ft.results)]
        if not out:
            return None
        return out[0] if len(out) == 1 else tuple(out)


class Func:
    """A host function for an import: `Func(params, results, callable)` with
    wasm value types ("i32", "i64", "f32", "f64", "funcref", "externref")."""

    def __init__(self, params, results, fn, *, bits: bool = False):
        self.params = tuple(params)
        self.results = tuple(results)
        self.fn = fn
        self.bits = bits
        self._records: dict = {}

    def functype_key(self) -> tuple:
        return (self.params, self.results)

    def _record(self, engine: Engine):
        rec = self._records.get(id(engine))
        if rec is not None:
            return rec[0]
        param_types = [_named_type(t) for t in self.params]
        result_types = [_named_type(t) for t in self.results]

        def callback(data, args, results):
            try:
                values = [_load_value(engine, args[i], t, bits=self.bits)
                          for i, t in enumerate(param_types)]
                out = self.fn(*values)
                if len(result_types) == 1:
                    out = (out,)
                elif not result_types:
                    out = ()
                for i, (t, v) in enumerate(zip(result_types, out)):
                    _store_value(engine, results[i], t, v, bits=self.bits)
                return 0
            except WasmException as exc:  # thrown into the calling wasm code
                # Once handed over, the runtime sees it (the activation holds it)
                # until it is thrown; the Exn may go.
                load_runtime().wasmaot_host_throw(Exn._of_exception(engine, exc)._ptr)
                return HOST_THROW
            except BaseException as exc:  # propagated to the wasm caller's caller
                engine._pending.exc = exc
                return 1

        cb = ffi.callback("wasmaot_host_callback", callback)
        record = ffi.new("struct wasmaot_host_func *")
        record.callback = cb
        self._records[id(engine)] = (record, cb)
        return record


def _named_type(name):
    if name == "funcref":
        return RefType(True, "func")
    if name == "externref":
        return RefType(True, "extern")
    if name == "exnref":
        return RefType(True, "exn")
    return name


class Memory:
    """A linear memory (exported, or made by the host with `Memory(min, max)`)."""

    def __init__(self, min_pages: int = 0, max_pages: int | None = None, *, is64=False,
                 shared=False):
        if shared and max_pages is None:
            raise WasmError("a shared memory must have a maximum")  # spec: memory types
        lib = load_runtime()
        desc = ffi.new("struct wasmaot_memory_desc *")
        desc.min = min_pages
        desc.max = (1 << 64) - 1 if max_pages is None else max_pages
        desc.is64 = int(is64)
        desc.page_size_log2 = 16
        desc.shared = int(shared)
        err = new_errbuf()
        ptr = lib.wasmaot_memory_new(desc, ffi.NULL, err, len(err))
        if ptr == ffi.NULL:
            raise WasmError(errbuf_text(err))
        self._ptr = ffi.gc(ptr, lib.wasmaot_memory_release)
        self._owner = None

    @classmethod
    def _wrap(cls, ptr, owner):
        self = cls.__new__(cls)
        self._ptr = ptr
        self._owner = owner
        return self

    def size(self) -> int:
        return self._ptr.pages

    def _max(self):
        m = self._ptr.max_pages
        return None if m == (1 << 64) - 1 else m

    def data_len(self) -> int:
        return self._ptr.size

    def grow(self, delta: int) -> int:
        old = load_runtime().wasmaot_memory_grow(self._ptr, delta)
        if old < 0:
            raise WasmError("failed to grow memory")
        return old

    def read(self, start: int, stop: int) -> bytes:
        if not 0 <= start <= stop <= self._ptr.size:
            raise IndexError("out of bounds memory access")
        return bytes(ffi.buffer(self._ptr.base + start, stop - start))

    def write(self, data: bytes, start: int = 0) -> None:
        if not 0 <= start <= start + len(data) <= self._ptr.size:
            raise IndexError("out of bounds memory access")
        ffi.memmove(self._ptr.base + start, data, len(data))


class Table:
    """A table (exported, or made by the host)."""

    def __init__(self, reftype: str, min_size: int, max_size: int | None = None, init=None,
                 *, engine: Engine | None = None, is64: bool = False):
        lib = load_runtime()
        self._engine = engine or default_engine()
        self._reftype = _named_type(reftype)
        desc = ffi.new("struct wasmaot_table_desc *")
        desc.min = min_size
        desc.max = (1 << 64) - 1 if max_size is None else max_size
        desc.reftype = abi.VALTYPE_CODES[reftype]
        desc.is64 = int(is64)
        err = new_errbuf()
        ptr = lib.wasmaot_table_new(desc, _ref_to_ptr(self._engine, self._reftype, init),
                                    ffi.NULL, err, len(err))
        if ptr == ffi.NULL:
            raise WasmError(errbuf_text(err))
        self._ptr = ffi.gc(ptr, lib.wasmaot_table_release)
        self._owner_module = None

    def _engine_valtype(self):
        if self._owner_module is None:
            return self._reftype
        return _global_valtype(self._owner_module, self._reftype)

    @classmethod
    def _wrap(cls, ptr, owner, reftype):
        self = cls.__new__(cls)
        self._ptr = ptr
        self._owner = owner
        self._owner_module = owner.module
        self._engine = owner.engine
        self._reftype = reftype
        return self

    def size(self) -> int:
        return self._ptr.size

    def _max(self):
        m = self._ptr.max
        return None if m == (1 << 64) - 1 else m

    def get(self, index: int):
        if not 0 <= index < self._ptr.size:
            raise IndexError("out of bounds table access")
        if _is_exn_ref(self._reftype):  # read and pinned at once, under the runtime's lock
            ptr = load_runtime().wasmaot_exception_load_element(self._ptr, index)
            return _ptr_to_ref(self._engine, self._reftype, ptr, pinned=True)
        return _ptr_to_ref(self._engine, self._reftype, self._ptr.elems[index])

    def set(self, index: int, value) -> None:
        if not 0 <= index < self._ptr.size:
            raise IndexError("out of bounds table access")
        self._ptr.elems[index] = _ref_to_ptr(self._engine, self._reftype, value)

    def grow(self, delta: int, init=None) -> int:
        old = load_runtime().wasmaot_table_grow(
            self._ptr, delta, _ref_to_ptr(self._engine, self._reftype, init))
        if old < 0:
            raise WasmError("failed to grow table")
        return old


class Global:
    """A global (exported, or made by the host with `Global(valtype, mutable, value)`)."""

    def __init__(self, valtype: str, mutable: bool, value=0, *, engine: Engine | None = None,
                 bits: bool = False):
        lib = load_runtime()
        self._engine = engine or default_engine()
        self._valtype = _named_type(valtype)
        init = ffi.new("union wasmaot_value *")
        _store_value(self._engine, init, self._valtype, value, bits=bits)
        ptr = lib.wasmaot_global_new(abi.VALTYPE_CODES[valtype], int(mutable), init)
        self._ptr = ffi.gc(ptr, lib.wasmaot_global_release)
        self.valtype_code = abi.VALTYPE_CODES[valtype]
        self._owner_module = None

    def _engine_valtype(self):
        if self._owner_module is None:
            return self._valtype
        return _global_valtype(self._owner_module, self._valtype)

    @classmethod
    def _wrap(cls, ptr, owner, valtype):
        self = cls.__new__(cls)
        self._ptr = ptr
        self._owner = owner
        self._engine = owner.engine
        self._owner_module = owner.module
        self._valtype = valtype
        self.valtype_code = ptr.valtype
        return self

    @property
    def mutable(self) -> bool:
        return bool(self._ptr.mutable)

    def get(self, *, bits: bool = False):
        if type(self._valtype) is RefType and _is_exn_ref(self._valtype):
            # Read and pinned at once, under the runtime's lock: wasm may overwrite
            # the global and the collector free what it held in between.
            cell = ffi.cast("void **", ffi.addressof(self._ptr, "value"))
            ptr = load_runtime().wasmaot_exception_load(cell)
            return _ptr_to_ref(self._engine, self._valtype, ptr, pinned=True)
        return _load_value(self._engine, self._ptr.value, self._valtype, bits=bits)

    def set(self, value, *, bits: bool = False) -> None:
        if not self.mutable:
            raise WasmError("global is immutable")
        _store_value(self._engine, self._ptr.value, self._valtype, value, bits=bits)

    @property
    def value(self):
        return self.get()


# --- exceptions ----------------------------------------------------------------------

class Tag:
    """A tag, what a wasm exception is thrown with: an instance's export, or made by the
    host, `Tag(["i32", "f64"])` (the payload's value types), for modules whose tag
    import has those parameters.  Tags match by identity, across instances too."""

    def __init__(self, params) -> None:
        self.params = tuple(_named_type(t) for t in params)
        self._ptr = None  # a host tag's instance is made when it is first linked
        self._owner = None  # what keeps the tag instance alive

    @classmethod
    def _of_instance(cls, instance: Instance, index: int) -> "Tag":
        ptr = load_runtime().wasmaot_instance_tag(instance._ptr, index)
        engine = instance.engine
        known = engine._tags.get(int(ffi.cast("uintptr_t", ptr)))
        if known is not None:  # an imported tag: the exporter's
            return known
        ctx = instance.module.ctx
        tag = cls.__new__(cls)
        tag.params = ctx.types.comp(ctx.tags[index]).params
        tag._ptr, tag._owner = ptr, instance
        engine._tags[int(ffi.cast("uintptr_t", ptr))] = tag
        return tag

    def _link(self, engine: Engine, type_id: int, want: FuncType, what: str):
        """The tag instance for an import of function type `want` (canonical `type_id`)."""
        if self._ptr is None:
            if _functype_key(FuncType(self.params, ())) != _functype_key(want) or want.results:
                raise LinkError(f"incompatible import type for {what}: tag type mismatch")
            lib = load_runtime()
            self._ptr = ffi.gc(lib.wasmaot_tag_new(type_id, len(self.params)),
                               lib.wasmaot_tag_free)
            engine._tags[int(ffi.cast("uintptr_t", self._ptr))] = self
        elif self._ptr.type_id != type_id:
            raise LinkError(f"incompatible import type for {what}: tag type mismatch")
        return self._ptr

    def __repr__(self) -> str:
        return f"Tag({list(self.params)!r})"


class Exn:
    """An exception object (an exnref value): its `tag` and payload `values`.  While it
    exists it holds a pin on the runtime's object, so the runtime's collector keeps that
    (and what its payload names) alive (runtime_c/exception.c)."""

    def __init__(self) -> None:
        raise TypeError("an Exn comes from wasm; throw a WasmException(tag, values) instead")

    @classmethod
    def _wrap(cls, engine: Engine, ptr, *, pinned: bool = False) -> "Exn":
        """The Exn of `ptr`.  pinned: the runtime pinned it for us (we take the pin over);
        else `ptr` must be named where the collector sees it (a host callback's
        argument, a pinned exception's payload) until we pin it here."""
        lib = load_runtime()
        ptr = ffi.cast("struct wasmaot_exception *", ptr)
        if not pinned:
            lib.wasmaot_exception_pin(ptr)
        exn = cls.__new__(cls)
        exn._ptr = ptr
        # Released when the Exn is garbage (the finalizer must not name `exn`).
        weakref.finalize(exn, lib.wasmaot_exception_unpin, ptr)
        exn.tag = engine._tags.get(int(ffi.cast("uintptr_t", ptr.tag)))
        if exn.tag is None:
            raise WasmError("an exception of a tag unknown to this engine")
        cells = lib.wasmaot_exception_values(ptr)
        exn.values = tuple(_load_value(engine, cells[i], t, bits=False)
                           for i, t in enumerate(exn.tag.params))
        return exn

    @classmethod
    def _of_exception(cls, engine: Engine, exc: WasmException) -> "Exn":
        """The runtime object to throw for `exc`: the one it came from, or a new one."""
        if exc._exn is not None:
            return exc._exn
        tag = exc.tag
        if not isinstance(tag, Tag) or tag._ptr is None:
            raise WasmError("a WasmException needs a Tag that an instance has (linked)")
        if len(exc.values) != len(tag.params):
            raise TypeError(f"tag takes {len(tag.params)} values, got {len(exc.values)}")
        cells = ffi.new("union wasmaot_value[]", max(1, len(tag.params)))
        for i, (t, v) in enumerate(zip(tag.params, exc.values)):
            _store_value(engine, cells[i], t, v, bits=False)
        ptr = load_runtime().wasmaot_exception_new(tag._ptr, cells)
        if ptr == ffi.NULL:
            raise WasmError("out of memory allocating a wasm exception")
        return cls._wrap(engine, ptr, pinned=True)  # wasmaot_exception_new pinned it

    def exception(self) -> WasmException:
        return WasmException(self.tag, self.values, exn=self)

    def __repr__(self) -> str:
        return f"Exn({self.tag!r}, {list(self.values)!r})"
