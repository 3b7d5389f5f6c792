"""The effective-address matrix of issue 8, item 1, as a spec script.

Every memory instruction wasmaot lowers that takes a memarg (derived from the
opcode table and codegen's handlers, so a newly lowered instruction joins by
itself) x i32/i64 index x the extreme offsets x the extreme addresses, and the
bulk instructions (memory.fill/copy/init) x extreme operands.  wasmtime runs
every call first; its results and traps become the expectations of a `.wast`
script, which `wasmaot wast` then runs at any -O level, bounds-check mode and
target.  After every store or bulk call the script compares a hash of the
whole memory, so a write that lands anywhere wrong is caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import wasmtime

from wasmaot.codegen.module import HANDLERS
from wasmaot.wasm.opcodes import OPCODES

PAGE = 65536
U32 = 1 << 32
U64 = 1 << 64
OOB = "out of bounds memory access"


def offsets(width: int, is64: bool) -> list[int]:
    """The issue's offsets; a 32-bit memory's offset must be below 2^32."""
    all_ = [0, 1, 1 << 16, 1 << 31, U32 - width, U32 - 1, U32, 1 << 63, U64 - width, U64 - 1]
    return sorted({o for o in all_ if is64 or o < U32})


def addresses(width: int, is64: bool) -> list[int]:
    """The issue's addresses, its repro's 16, and the first partly out-of-bounds one."""
    all_ = [0, 16, PAGE - width, PAGE - width + 1, PAGE, U32 - 1, U32, 1 << 63, U64 - width, U64 - 1]
    return sorted({a for a in all_ if is64 or a < U32})


def memarg_rows() -> list:
    return [op for op in OPCODES if "memarg" in op.imms and op.name in HANDLERS]


# A value stored, per value type: distinct bytes, so a misplaced byte shows in the hash.
_STORE_VALUE = {"i32": "(i32.const 0x5a6b7c8d)", "i64": "(i64.const 0x1122334455667788)",
                "f32": "(f32.reinterpret_i32 (i32.const 0x7fc01234))",
                "f64": "(f64.reinterpret_i64 (i64.const 0x7ff0000000abcdef))",
                "v128": "(v128.const i64x2 0x0123456789abcdef 0x7edcba9876543210)"}
# A result as an integer (floats by their bits, so NaN payloads compare exactly;
# a v128 folded by $fold, which every byte of it changes).
_AS_INT = {"i32": "", "i64": "", "f32": "i32.reinterpret_f32", "f64": "i64.reinterpret_f64",
           "v128": "call $fold"}
_INT_OF = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64", "v128": "i64"}


def access_body(op, address: str, offset: int) -> tuple[str, str]:
    """(body, result clause) of a function that runs `op` at `address` (a folded
    expression) with this offset: stores get _STORE_VALUE operands, and a result
    comes back as an integer (_AS_INT)."""
    extra = op.params[1:]
    if any(t not in _STORE_VALUE for t in extra) or \
            any(t not in _AS_INT for t in op.results):
        raise NotImplementedError(f"address matrix: no operands/results for {op.name} yet")
    lane = " 1" if any(imm.startswith("lane") for imm in op.imms) else ""
    body = f"({op.name} offset={offset}{lane} {address} {' '.join(_STORE_VALUE[t] for t in extra)})"
    results = ""
    if op.results:
        (t,) = op.results
        body = f"({_AS_INT[t]} {body})" if _AS_INT[t] else body
        results = f" (result {_INT_OF[t]})"
    return body, results


def _access_func(op, offset: int, at: str) -> tuple[str, str]:
    """(export name, func text) calling `op` at (local 0) with this offset."""
    name = f"{op.name} offset={offset}"
    body, results = access_body(op, "(local.get 0)", offset)
    return name, f'  (func (export "{name}") (param {at}){results} {body})'


_HASH_FUNC = """  (func (export "hash") (result i64) (local $i {at}) (local $h i64)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done (loop $next
      (br_if $done ({at}.ge_u (local.get $i) ({at}.const {page})))
      (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load (local.get $i)))
                             (i64.const 0x100000001b3)))
      (local.set $i ({at}.add (local.get $i) ({at}.const 8)))
      (br $next)))
    (local.get $h))"""

_FOLD_FUNC = """  (func $fold (param v128) (result i64)
    (i64.xor (i64x2.extract_lane 0 (local.get 0))
             (i64.rotl (i64x2.extract_lane 1 (local.get 0)) (i64.const 29))))"""

_BULK_FUNCS = """  (func (export "memory.fill") (param {at} i32 {at})
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "memory.copy") (param {at} {at} {at})
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "memory.init") (param {at} i32 i32)
    (memory.init $seg (local.get 0) (local.get 1) (local.get 2)))"""


@dataclass(frozen=True)
class Call:
    export: str
    args: tuple  # unsigned ints
    types: tuple  # their value types
    result: str | None  # the (integer) result type, if any
    mutates: bool  # compare the memory's hash afterwards


@dataclass
class Matrix:
    """One module's text and the calls to make on it, in order."""
    at: str  # the address type: i32 or i64
    funcs: list = field(default_factory=list)
    calls: list = field(default_factory=list)  # Call rows, in order

    @property
    def text(self) -> str:
        mem = "(memory i64 1)" if self.at == "i64" else "(memory 1)"
        head = [f"(module {mem}",
                '  (data (i64.const 0) "\\00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f")'
                if self.at == "i64" else
                '  (data (i32.const 0) "\\00\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f")',
                f'  (data (offset ({self.at}.const {PAGE - 16})) "\\f0\\f1\\f2\\f3\\f4\\f5\\f6\\f7'
                '\\f8\\f9\\fa\\fb\\fc\\fd\\fe\\ff")',
                '  (data $seg "\\a0\\a1\\a2\\a3\\a4\\a5\\a6\\a7\\a8\\a9\\aa\\ab\\ac\\ad\\ae\\af")',
                _HASH_FUNC.format(at=self.at, page=PAGE), _FOLD_FUNC,
                _BULK_FUNCS.format(at=self.at)]
        return "\n".join(head + self.funcs) + ")"


def build_matrix(at: str) -> Matrix:
    is64 = at == "i64"
    m = Matrix(at)
    for op in memarg_rows():
        for off in offsets(op.width, is64):
            name, text = _access_func(op, off, at)
            m.funcs.append(text)
            for a in addresses(op.width, is64):
                result = _INT_OF[op.results[0]] if op.results else None
                m.calls.append(Call(name, (a,), (at,), result, not op.results))
    bulk = [0, 1, PAGE - 1, PAGE, U32 - 1] + ([U32, 1 << 63, U64 - 1] if is64 else [])
    for d in bulk:
        for n in bulk:
            m.calls.append(Call("memory.fill", (d, 0x5A, n), (at, "i32", at), None, True))
            m.calls.append(Call("memory.init", (d, 3, n % U32), (at, "i32", "i32"), None, True))
            for s in bulk:
                m.calls.append(Call("memory.copy", (d, s, n), (at, at, at), None, True))
    for d in (0, PAGE - 16):
        for s, n in ((0, 16), (1, 15), (16, 0), (17, 0), (15, 2), (0, U32 - 1)):
            m.calls.append(Call("memory.init", (d, s, n), (at, "i32", "i32"), None, True))
    return m


def _signed(value: int, ty: str) -> int:
    bits = 32 if ty == "i32" else 64
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _const(ty: str, value: int) -> str:
    return f"({ty}.const {_signed(value, ty)})"


def _invoke(name: str, args: tuple, types: tuple) -> str:
    return f'(invoke "{name}" {" ".join(_const(t, a) for t, a in zip(types, args))})'


def _wasmtime_instance(wat: str):
    config = wasmtime.Config()
    config.wasm_memory64 = True
    config.wasm_multi_memory = True
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, wat)
    return store, wasmtime.Instance(store, module, [])


def script_for(m: Matrix) -> tuple[str, int]:
    """The .wast script with wasmtime's results as expectations, and its number of
    assertions."""
    store, inst = _wasmtime_instance(m.text)
    exports = inst.exports(store)
    lines = [m.text]
    for c in m.calls:
        invoke = _invoke(c.export, c.args, c.types)
        try:
            result = exports[c.export](store, *[_signed(a, t) for a, t in zip(c.args, c.types)])
        except wasmtime.Trap as e:
            assert OOB in str(e), f"wasmtime: {c}: {e}"
            lines.append(f'(assert_trap {invoke} "{OOB}")')
        else:
            expect = "" if c.result is None else " " + _const(c.result, result)
            lines.append(f"(assert_return {invoke}{expect})")
        if c.mutates:
            lines.append(f'(assert_return (invoke "hash") {_const("i64", exports["hash"](store))})')
    count = len(lines) - 1
    return "\n".join(lines) + "\n", count


def invalid_offsets_script() -> tuple[str, int]:
    """A 32-bit memory's offset of 2^32 or more is invalid (wasmtime agrees)."""
    lines, count = [], 0
    for op in memarg_rows():
        for off in (U32, 1 << 63, U64 - 1):
            _, text = _access_func(op, off, "i32")
            wat = f"(module (memory 1)\n{_FOLD_FUNC}\n{text})"
            try:
                _wasmtime_instance(wat)
            except wasmtime.WasmtimeError:
                lines.append(f'(assert_invalid {wat} "offset out of range")')
                count += 1
            else:
                raise AssertionError(f"wasmtime accepts {op.name} offset={off} on a 32-bit memory")
    return "\n".join(lines) + "\n", count


def write_script(path) -> int:
    """Writes the whole matrix to `path`; returns its number of assertions."""
    parts, total = [], 0
    for at in ("i32", "i64"):
        text, n = script_for(build_matrix(at))
        parts.append(text)
        total += n
    text, n = invalid_offsets_script()
    parts.append(text)
    path.write_text("".join(parts))
    return total + n


if __name__ == "__main__":  # write the script for a look: python address_matrix.py OUT.wast
    import pathlib
    import sys

    print(write_script(pathlib.Path(sys.argv[1])), "assertions")
