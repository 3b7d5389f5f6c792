"""A variant on another target: the module in a test executable, under qemu.

It reuses what `wasmaot wast --target` runs spec scripts with
(wasmaot/commands/wast_remote.py): the module is compiled for the target and linked
with the runtime and `runtime_c/exe/wast_main.c` into one static executable, which
instantiates it, calls its exports and reads its globals, memories and tables as
this side asks over a pipe.  The executable has no Python host, so a module that
imports anything is not applicable here.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tools.diff_farm.harness import (
    FUEL,
    FUEL_PER_CALL,
    HOST_LOG,
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
from wasmaot.commands.wast_remote import TestExecutable
from wasmaot.errors import Trap, WasmException

# Memories are read only after instantiation and at the end (a CRC-32 of up to 1 MiB
# under qemu after every call would cost more than the rest); funcrefs as null or not;
# an escaping exception without its payload (the executable reports only its status).
CAPS = frozenset()


class RemoteSide:
    name = "wasmaot (test executable)"
    caps = CAPS

    def __init__(self, wasm: bytes, exports: list[Export], variant: Variant,
                 workdir: Path | None):
        self.exports = {e.name: e for e in exports}
        self.dir = Path(tempfile.mkdtemp(prefix="remote-", dir=workdir))
        path = self.dir / "module.wasm"
        path.write_bytes(wasm)
        script = {"commands": [{"type": "module", "filename": path.name}]}
        self.exe = TestExecutable.build(script, self.dir, f"{variant.target}-linux", variant.opt)
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
            if e.kind == "memory" and full:
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

