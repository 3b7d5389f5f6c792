"""The opcode table is the single source of truth: every row must be reachable
by the decoder and have exactly one validator path."""

import pytest

from wasmaot.wasm import opcodes
from wasmaot.wasm.instructions import IMMEDIATE_READERS, READERS_OF
from wasmaot.wasm.validate_func import ENTRIES, PREFIXED_ENTRIES


def _entry(op):
    if op.prefix is None:
        return ENTRIES[op.code]
    return PREFIXED_ENTRIES[op.prefix].get(op.code)


def test_names_and_encodings_are_unique():
    names = [op.name for op in opcodes.OPCODES]
    codes = [(op.prefix, op.code) for op in opcodes.OPCODES]
    assert len(set(names)) == len(names)
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("op", opcodes.OPCODES, ids=lambda op: op.name)
def test_every_row_has_one_decoder_and_validator_path(op):
    assert all(kind in IMMEDIATE_READERS for kind in op.imms)
    assert len(READERS_OF[op]) == len(op.imms)
    entry = _entry(op)
    assert entry is not None and entry[1] is op


def test_table_covers_the_spec_instruction_counts():
    by_proposal = {}
    for op in opcodes.OPCODES:
        by_proposal[op.proposal] = by_proposal.get(op.proposal, 0) + 1
    # Counts from the spec's instruction index (SIMD: 236 incl. v128 ops; relaxed: 20).
    assert by_proposal["simd"] == 236
    assert by_proposal["relaxed_simd"] == 20
    assert by_proposal["saturating_float_to_int"] == 8
    assert by_proposal["sign_extension"] == 5


def test_handler_names_follow_mnemonics():
    assert opcodes.BY_NAME["i32.load8_s"].handler_name == "i32_load8_s"
    assert opcodes.BY_NAME["select_t"].mnemonic == "select"
