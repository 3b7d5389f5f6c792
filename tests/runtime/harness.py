"""Helpers for the runtime tests (importable from test files and subprocess scripts):
the fake module's index spaces, and `Instance`, a miniature of what wasmaot/api.py does
with the runtime: instantiate with imports, call functions through their entry thunks,
turn a nonzero status into `Trap`, and re-raise an exception a host callback raised.
"""

from __future__ import annotations

from pathlib import Path

from wasmaot import _ffi

HERE = Path(__file__).parent
FAKE_SOURCE = HERE / "fake_module.c"
ffi = _ffi.ffi

# Function indices of fake_module.c.
HOST, LOAD, STORE, RECURSE, RECURSE_BIG, DIV, CALL_HOST, OUTER, MIDDLE, INNER, OP = range(11)
CALL_INDIRECT, TRIPLED, CRASH_NULL, START, READ_GLOBAL, LOAD_OFF = range(11, 17)
# `op` codes (0 and 1 were memory.fill and memory.copy, now inline in generated code).
(MEM_INIT, DATA_DROP, MEM_GROW, TABLE_GROW, TABLE_FILL, TABLE_COPY, TABLE_INIT,
 ELEM_DROP, TABLE_SIZE, TABLE_GET, MEM_PAGES, TYPE_MATCHES, TRAP) = range(2, 15)

VARIANTS = {
    "plain": (),
    "import_memory": ("-DFAKE_IMPORT_MEMORY",),
    "import_memory_explicit": ("-DFAKE_IMPORT_MEMORY", "-DFAKE_EXPLICIT_CHECKS=1"),
    "start": ("-DFAKE_START",),
    "init_oob": ("-DFAKE_INIT_OOB", "-DFAKE_IMPORT_MEMORY"),
}


class HostFunc:
    """A host function record around a Python callable of one i32 -> i32."""

    def __init__(self, fn):
        self.fn = fn
        self.pending = None  # the exception the callable raised, to re-raise later
        self._cb = ffi.callback("int(void *, union wasmaot_value *, union wasmaot_value *)", self._call)
        self.record = ffi.new("struct wasmaot_host_func *", {"callback": self._cb, "data": ffi.NULL})

    def _call(self, data, args, results):
        try:
            results[0].i32 = self.fn(args[0].i32)
            return 0
        except BaseException as e:  # noqa: BLE001 - kept and re-raised by the caller
            self.pending = e
            return 1


class Instance:
    def __init__(self, rt, lib_and_desc, *, host=None, func=None, memory=None, tag=None, config=None,
                 type_ids=None, init=True):
        self.rt = rt
        self.lib, self.desc = lib_and_desc
        self.host = host or HostFunc(lambda x: x + 1000)
        self.config = ffi.new("struct wasmaot_config *", config or {})
        n = self.desc.num_imports
        self.imports = ffi.new("struct wasmaot_extern[]", max(n, 1))
        for k in range(n):
            im = self.desc.imports[k]
            if im.kind == 0 and func is not None:  # another instance's function
                self.imports[k].kind = 0
                self.imports[k].of.func = func
            elif im.kind == 0:
                self.imports[k].kind = _ffi.EXTERN_HOST_FUNC
                self.imports[k].of.host = self.host.record
            elif im.kind == 4:  # a tag
                self.imports[k].kind = im.kind
                self.imports[k].of.tag = tag if tag is not None else ffi.NULL
            else:
                self.imports[k].kind = im.kind
                self.imports[k].of.memory = memory if memory is not None else ffi.NULL
        self.type_ids = ffi.new("uint64_t[]", type_ids) if type_ids is not None else ffi.NULL
        err = _ffi.new_errbuf()
        self.inst = rt.wasmaot_instance_new(self.desc, self.imports, self.type_ids, self.config, err,
                                            _ffi.ERRBUF_SIZE)
        if self.inst == ffi.NULL:
            raise RuntimeError(_ffi.errbuf_text(err))
        self.trap_info = ffi.new("struct wasmaot_trap_info *")  # the last call's
        if init:
            self.init()

    def init(self):
        status = self.rt.wasmaot_instance_init(self.inst, self.trap_info)
        _ffi.check_trap(status, self.trap_info)

    def free(self):
        if self.inst != ffi.NULL:
            self.rt.wasmaot_instance_free(self.inst)
            self.inst = ffi.NULL

    @property
    def vmctx(self):
        return self.rt.wasmaot_instance_vmctx(self.inst)

    @property
    def memory(self):
        return self.rt.wasmaot_instance_memory(self.inst, 0)

    @property
    def table(self):
        return self.rt.wasmaot_instance_table(self.inst, 0)

    def mem_bytes(self, start, n):
        m = self.memory
        assert start + n <= m.size
        return bytes(ffi.buffer(m.base + start, n))

    def call(self, func, *args, kind="i32"):
        """Calls function `func`; buffers are per call, so host callbacks may nest calls."""
        thunk = self.desc.entry_thunks[self.desc.func_type[func]]
        cells = ffi.new("union wasmaot_value[8]")
        results = ffi.new("union wasmaot_value[8]")
        trap_info = ffi.new("struct wasmaot_trap_info *")
        for i, a in enumerate(args):
            setattr(cells[i], kind, a)
        self.host.pending = None
        status = self.rt.wasmaot_invoke(thunk, self.func(func), cells, results, trap_info)
        self.trap_info = trap_info
        pending, self.host.pending = self.host.pending, None
        if status == 11 and pending is not None:  # WASMAOT_TRAP_HOST: re-raise the callback's error
            raise pending
        _ffi.check_trap(status, trap_info)
        return getattr(results[0], kind)

    def func(self, index):
        return self.rt.wasmaot_instance_func(self.inst, index)

    def op(self, code, a=0, b=0, c=0):
        return self.call(OP, code, a, b, c, kind="i64")
