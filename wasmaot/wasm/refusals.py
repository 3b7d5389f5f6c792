"""Validation with refusals: what a compiler cannot handle yet, found while validating
(issue 8, item 7).

`Refusals` gives the function validator other dispatch entries for the refused opcode rows:
each notes the first use that can run, then validates the instruction as usual.  Plain
validation keeps the plain tables and pays nothing.  `validate_module(module, refusals)`
raises the noted `UnsupportedFeature` once the module is known to be valid.
"""

from __future__ import annotations

from .instructions import read_memarg
from .reader import Reader
from .validate_func import (
    _MEMORY, _RULE, _SIMPLE, ENTRIES, PREFIXED_ENTRIES, FuncValidator, _entry,
)


def _apply(v: FuncValidator, e: tuple, r: Reader) -> None:
    """Validate one instruction through its dispatch entry, out of line: what the inline
    paths of `FuncValidator._run` do for the entry kinds a refused row can have."""
    kind, op = e[0], e[1]
    if kind == _SIMPLE:
        for f in e[4]:
            f(r)
        for t in e[2]:
            v.pop_val(t)
        v.push_vals(e[3])
    elif kind == _MEMORY:
        pops, pushes = e[2][v.check_memarg(op, read_memarg(r))]
        for t in pops:
            v.pop_val(t)
        v.push_vals(pushes)
    elif kind == _RULE:
        e[2](v, op, r)
    else:  # locals are MVP: no compiler refuses them
        raise AssertionError(f"{op.name}: entry kind {kind} cannot be refused")


class Refusals:
    """Valid instructions that the caller (the compiler) cannot handle: validation with
    refusals notes the first one that can run and, once the module is known to be valid,
    raises `UnsupportedFeature` for it -- before any code generation starts.

    `features` maps each refused row to the feature named in the message; an instruction
    in unreachable code is ignored (the lowering skips dead code) unless its name is in
    `lowered_when_dead` (block structure, which the lowering tracks even there).  The
    refused rows get dispatch entries that note the use, then validate as usual, so
    validation without refusals pays nothing for this.
    """

    def __init__(self, features: dict, lowered_when_dead: frozenset) -> None:
        self.features = dict(features)
        self.lowered_when_dead = frozenset(lowered_when_dead)
        self.dispatch = (list(ENTRIES), {p: dict(t) for p, t in PREFIXED_ENTRIES.items()})
        for op in self.features:
            noting = (_RULE, op, self._noting_rule(_entry(op)))
            if op.prefix is None:
                self.dispatch[0][op.code] = noting
            else:
                self.dispatch[1][op.prefix][op.code] = noting

    def _noting_rule(self, entry: tuple):
        def rule(v, op, r):
            v.note_unsupported(op, self)
            _apply(v, entry, r)
        return rule
