"""A variant in a test executable: on another target under qemu, or natively as an
executable's module (`-exe`).

It reuses what `wasmaot wast --target` runs spec scripts with
(wasmaot/commands/wast_remote.py): the module is compiled for the target and linked
with the runtime and `runtime_c/exe/wast_main.c` into one static executable, which
instantiates it, calls its exports and reads its globals, memories and tables as
this side asks over a pipe.  The executable has no Python host, so a module that
imports anything is not applicable here.

An `-exe` variant compiles the module in executable mode (CodegenOptions.standalone,
as `wasmaot build`).  That mode assumes the module is the only one in its process and
that only its own IR calls its records' code; both hold here: the executable holds
the case's one module, and wast_main.c calls wasm only through wasmaot_invoke and the
module's entry thunks (as instance.c does the start function).  Traps leave wasm
frames by siglongjmp (runtime_c/trap.c), not by the unwinder, so a `nounwind` module
stays sound.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tools.diff_farm.harness import (
    FUEL,
    FUEL_PER_CALL,
    HOST_LOG,
    MEMORY_ALWAYS,
    OTHER,
    TABLE_ELEMENTS_COMPARED,
    Export,
    NotApplicable,
    Thrown,
    Trapped,
    Variant,
    _signed,
    call_bits,
    compares_elements,
    compares_value,
)
from wasmaot.commands.wast import HostRef
from wasmaot.commands.wast_remote import TestExecutable, qemu_for
from wasmaot.errors import Trap, WasmException

# Funcrefs as null or not; an escaping exception without its payload (the executable
# reports only its status).  Under qemu memories are read only after instantiation and
# at the end (a CRC-32 of up to 1 MiB under qemu after every call would cost more than
# the rest); natively after every call too.
CAPS = frozenset()
NATIVE_CAPS = frozenset({MEMORY_ALWAYS})


class RemoteSide:
    name = "wasmaot (test executable)"

    @staticmethod
    def caps_of(variant: Variant) -> frozenset:
        return CAPS if qemu_for(_target(variant)) else NATIVE_CAPS

    def __init__(self, wasm: bytes, exports: list[Export], variant: Variant,
                 workdir: Path | None):
        self.exports = {e.name: e for e in exports}
        self.caps = self.caps_of(variant)
        self.dir = Path(tempfile.mkdtemp(prefix="remote-", dir=workdir))
        path = self.dir / "module.wasm"
        path.write_bytes(wasm)
        script = {"commands": [{"type": "module", "filename": path.name}]}
        self.exe = TestExecutable.build(script, self.dir, _target(variant), variant.opt,
                                        explicit_bounds_checks=variant.bounds == "explicit",
                                        standalone=variant.exe)
        module = self.exe.compile(path)  # raises the module's WasmError (UnsupportedFeature)
        if module.imports:
            self.close()
            raise NotApplicable(f"{variant.target}: the module imports from the host")
        try:
            instance = module.instantiate({})
        except Trap as t:
            self.close()
            raise Trapped(t.message) from None
        except WasmException:  # the start function threw
            self.close()
            raise Thrown(None) from None
        self.items = instance.exports

    def close(self) -> None:
        self.exe.__exit__(None, None, None)
        shutil.rmtree(self.dir, ignore_errors=True)

    def refuel(self) -> None:
        self.exe.request("set", self.items[FUEL].handle, FUEL_PER_CALL)

    def _arg(self, t: str, v):
        if t == "externref":
            return None if v is None else HostRef(v[1])
        if t == "funcref" and v is not None:
            raise NotApplicable("a funcref argument cannot be passed to a test executable")
        return v

    def call(self, name: str, args: list) -> list:
        return call_bits(self, name, args, Trap)

    def payload(self, exc) -> None:
        """An escaping exception's payload: the executable reports only that one
        escaped (trap status 14, not its tag or values), so the caps have no
        EXCEPTION_PAYLOAD and the reference's is compared as None."""

    def _result(self, t: str, v):
        """A cell as the reference gives the value: signed integers, float bits."""
        if t in ("i32", "i64"):
            return _signed(v, int(t[1:]))
        if t == "f32":
            return v & 0xFFFFFFFF
        if t == "externref":
            return None if v is None else ["extern", v.n] if isinstance(v, HostRef) else repr(v)
        if t in ("funcref", "exnref", OTHER):
            return None if v is None else "ref"
        return v

    def state(self, full: bool) -> dict:
        out = {HOST_LOG: ["host calls", []]}
        for name, e in self.exports.items():
            item = self.items[name]
            if e.kind == "memory" and (full or MEMORY_ALWAYS in self.caps):
                pages, crc = self.exe.request("memory", item.handle)
                out[name] = ["memory", pages, crc]
            elif e.kind == "global" and compares_value(e):
                out[name] = ["global", self._result(e.valtype, item.get(bits=True))]
            elif e.kind == "table":
                elements = compares_elements(e, full)
                words = self.exe.request("table", item.handle,
                                         TABLE_ELEMENTS_COMPARED if elements else 0)
                elems = [1 if w else None for w in words[1:]] if elements else None
                out[name] = ["table", words[0], elems]
        return out


def _target(variant: Variant) -> str:
    return f"{variant.target}-linux"
