"""`array.new_fixed $a n` takes any n, as wasmtime does (issue 8, found by tools/validator_fuzz).

We refused n > 10,000 (the JS API's limit) where wasmtime and wasm-tools accept; the limit was
also what kept `unreachable (array.new_fixed $a 4294967295)` from popping 2**32 unknown operands
one by one.  Now the rule pops what the stack holds and no more: any n, in O(stack) time.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from wasmaot.driver.wat import wasm_tools_executable, wat_bytes_to_wasm
from wasmaot.errors import InvalidModule
from wasmaot.wasm import load_module

A = "(type $a (array i32))"
CASES = [
    (f"{A} (func unreachable (array.new_fixed $a 10001) drop)", True),
    (f"{A} (func unreachable (array.new_fixed $a 4294967295) drop)", True),
    (f"{A} (func (result (ref $a)) (array.new_fixed $a 2 (i32.const 1) (i32.const 2)))", True),
    (f"{A} (func (result (ref $a)) (array.new_fixed $a 3 (i32.const 1) (i32.const 2)))", False),
    (f"{A} (func (result (ref $a)) (array.new_fixed $a 1 (i64.const 1)))", False),
    (f"{A} (func (result (ref $a)) i64.const 0 unreachable (array.new_fixed $a 2 (i32.const 1)))",
     True),
]


@pytest.mark.parametrize("body,valid", CASES, ids=[c[0][len(A) + 1:] for c in CASES])
def test_array_new_fixed_operand_counts_like_wasm_tools(body, valid):
    data = wat_bytes_to_wasm(f"(module {body})".encode())
    ref = subprocess.run([wasm_tools_executable(), "validate"], input=data, capture_output=True)
    assert (ref.returncode == 0) == valid, ref.stderr.decode()
    t0 = time.process_time()
    if valid:
        load_module(data)
    else:
        with pytest.raises(InvalidModule, match="type mismatch"):
            load_module(data)
    assert time.process_time() - t0 < 1
