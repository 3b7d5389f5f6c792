"""Known bugs: findings that are being fixed elsewhere, counted apart.

A farm run finds the same known bug in many modules; counted as mismatches they
would drown every other finding.  Each `KnownBug` recognises its bug from what a
failing variant reports and what the module contains (its text, printed by
`wasm-tools print`).  The rules are deliberately narrow: a finding that matches none
is reported as new.  Remove an entry when its fix is merged: the farm then shows
whether the class is closed (the bug's modules agree) or not (they mismatch).
"""

from __future__ import annotations

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


# The three bugs this list held while issue 8 was fixed (the memory64 offset wrap,
# the return_call hang at -O1..-O3, the validator's IndexError on array.fill/set)
# are merged; none of them ever fired on a smith module (RUNS.md).  Add an entry
# here while a found bug is being fixed.
KNOWN: tuple[KnownBug, ...] = ()


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
