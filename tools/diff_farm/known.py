"""Known bugs: findings that are being fixed elsewhere, counted apart.

A farm run finds the same known bug in many modules; counted as mismatches they
would drown every other finding.  Each `KnownBug` recognises its bug from what a
failing variant reports and what the module contains (its text, printed by
`wasm-tools print`).  The rules are deliberately narrow: a finding that matches none
is reported as new.  Remove an entry when its fix is merged: the farm then shows
whether the class is closed (the bug's modules agree) or not (they mismatch).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Callable

from tools.diff_farm.harness import Result, wasm_tools

# Statuses a known bug may explain (never "ok", "skipped", "inconclusive").
FAILING = ("mismatch", "error", "hang", "crash")


@dataclass(frozen=True)
class KnownBug:
    name: str
    note: str  # what it is and who fixes it (issue 8's item)
    # (the failing variant, the module's text, the case's other variants)
    matches: Callable[[Result, str, list], bool]


def _i64_memory(wat: str) -> bool:
    return re.search(r"\(memory (\(;\d+;\) )?(\(export [^)]*\) )*i64", wat) is not None


def _nonzero_offset(wat: str) -> bool:
    return re.search(r"offset=[1-9]", wat) is not None


def _memory64_wrap(r: Result, wat: str, others: list) -> bool:
    """offset + address >= 2^64 wraps instead of trapping: an access wasmtime
    traps on reads or writes memory (or below it) in wasmaot.  So the first
    difference is a call that wasmtime traps `out of bounds memory access` and
    wasmaot does not, or a state difference, or a crash (a read below the base)."""
    if not (_i64_memory(wat) and _nonzero_offset(wat)):
        return False
    if r.status == "crash":
        return True
    if r.status != "mismatch":
        return False
    if r.reason.startswith(("after call", "after instantiation")):
        return True
    last = r.log[-1] if r.log else None
    if not (isinstance(last, list) and len(last) == 3 and last[1] and last[2]):
        return "out of bounds memory access" in r.reason
    wasmtime, wasmaot = last[1], last[2]
    return wasmtime == ["trap", "out of bounds memory access"] and wasmaot != wasmtime


def _return_call_hang(r: Result, wat: str, others: list) -> bool:
    """Unbounded recursion through return_call loops forever at -O1..-O3; the same
    module at -O0 (if the case ran it) ran and did not hang."""
    o0 = [o for o in others if "-O0" in o.variant and o.variant.split("-")[0] ==
          r.variant.split("-")[0]]
    return (r.status == "hang" and "-O0" not in r.variant and "return_call" in wat
            and all(o.status in ("ok", "inconclusive", "mismatch") for o in o0))


def _array_index_error(r: Result, wat: str, others: list) -> bool:
    """The validator's IndexError on a bad type index of array.fill / array.set."""
    return r.status == "error" and "IndexError" in r.reason and (
        "array.fill" in wat or "array.set" in wat or not wat)


KNOWN = (
    KnownBug("memory64-wrap", "issue 8 item 1: the memory64 effective address wraps "
             "(offset + index >= 2^64); the lead fixes codegen/memory.py", _memory64_wrap),
    KnownBug("return-call-hang", "issue 8 item 2: recursion through return_call hangs at "
             "-O1..-O3; a helper fixes it", _return_call_hang),
    KnownBug("validator-array-index", "issue 8 item 3: IndexError on a bad type index in "
             "array.fill/array.set", _array_index_error),
)


def module_text(wasm: bytes) -> str:
    """The module as text ("" if wasm-tools cannot print it)."""
    proc = subprocess.run([wasm_tools(), "print", "-"], input=wasm, capture_output=True,
                          check=False)
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else ""


def classify(result: Result, wat: str, others: tuple = ()) -> str:
    """The name of the known bug `result` is, or "" (`others`: the case's other
    variants' results)."""
    if result.status not in FAILING:
        return ""
    for bug in KNOWN:
        if bug.matches(result, wat, list(others)):
            return bug.name
    return ""
