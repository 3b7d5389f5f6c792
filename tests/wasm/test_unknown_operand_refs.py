"""An unknown operand popped as a reference is `(ref bot)`, not the unknown type (issue 8,
found by tools/validator_fuzz).

After `unreachable`, `ref.as_non_null` (and br_on_null, any.convert_extern, ...) used to push
the *unknown* type back, which then passed for an f32; and the conversions pushed a nullable
reference where the spec's `pop_ref` gives a non-null one.  The spec appendix's `pop_ref`
returns `Ref(Bot, false)`: a reference, non-null, below every reference type.  Each case is
checked against `wasm-tools validate` too, so the expectations are the reference's.
"""

from __future__ import annotations

import subprocess

import pytest

from wasmaot.driver.wat import wasm_tools_executable, wat_bytes_to_wasm
from wasmaot.errors import InvalidModule
from wasmaot.wasm import load_module

FEATURES = "wasm3,threads,wide-arithmetic,custom-page-sizes,legacy-exceptions,custom-descriptors"
S = "(type $s (struct))"
CASES = [
    # (module body, valid?)
    ("(func unreachable ref.as_non_null f32.neg drop)", False),
    ("(func unreachable (br_on_null 0) f32.neg drop)", False),
    ("(func unreachable any.convert_extern f32.neg drop)", False),
    ("(func unreachable extern.convert_any f32.neg drop)", False),
    ("(func unreachable ref.as_non_null select drop)", False),
    ("(func (result (ref any)) unreachable any.convert_extern)", True),
    ("(func (result (ref extern)) unreachable extern.convert_any)", True),
    (f"{S} (func (result (ref $s)) unreachable ref.as_non_null)", True),
    (f"{S} (func (result (ref $s)) (block (result (ref $s)) unreachable (br_on_non_null 0)"
     " (unreachable)))", True),
    (f"{S} (func (result (ref null $s)) unreachable (br_on_null 0) (drop))", True),
]


@pytest.mark.parametrize("body,valid", CASES, ids=[c[0] for c in CASES])
def test_unknown_reference_operand_types_like_wasm_tools(body, valid):
    data = wat_bytes_to_wasm(f"(module {body})".encode())
    ref = subprocess.run([wasm_tools_executable(), "validate", "--features", FEATURES],
                         input=data, capture_output=True)
    assert (ref.returncode == 0) == valid, ref.stderr.decode()
    if valid:
        load_module(data)
    else:
        with pytest.raises(InvalidModule, match="type mismatch"):
            load_module(data)
