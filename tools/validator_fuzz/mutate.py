"""Mutations of a module's bytes, each a pure function of (rng, seed bytes).

Byte-level ones (flips, truncation, deletion) reach every decoder path; structural ones keep
the framing intact so that the damage lands deeper: overlong and huge LEB128 counts,
duplicated, reordered and spliced sections, and instructions from the opcode table inserted
into function bodies with immediates that are often out of range.
"""

from __future__ import annotations

import random

from wasmaot.wasm.leb128 import read_uleb, sleb, uleb
from wasmaot.wasm.opcodes import OPCODES

HEADER = b"\0asm\1\0\0\0"
# Index values an inserted immediate takes: in range, at the edges, and absurd.
INDICES = (0, 0, 1, 2, 3, 7, 255, 1000, 65535, (1 << 31) - 1, (1 << 32) - 1)
HUGE = (0xFFFFFFFF, 1 << 31, 1 << 28, 1_000_000, 100_000, 65536)


def sections(data: bytes) -> list[tuple[int, bytes]] | None:
    """The (id, payload) list of a well-framed module, else None."""
    if data[:8] != HEADER:
        return None
    out, pos = [], 8
    while pos < len(data):
        sid = data[pos]
        size = read_uleb(data, pos + 1)
        if size is None or size[1] + size[0] > len(data):
            return None
        out.append((sid, data[size[1]:size[1] + size[0]]))
        pos = size[1] + size[0]
    return out


def assemble(secs: list[tuple[int, bytes]], size_pad: dict | None = None) -> bytes:
    pad = size_pad or {}
    return HEADER + b"".join(bytes([sid]) + uleb(len(p), pad.get(i, 0)) + p
                             for i, (sid, p) in enumerate(secs))


# --- byte-level -------------------------------------------------------------------------


def flip_bytes(rng: random.Random, data: bytes, corpus) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256) if rng.random() < 0.5 else b[i] ^ (1 << rng.randrange(8))
    return bytes(b)


def truncate(rng: random.Random, data: bytes, corpus) -> bytes:
    return data[:rng.randrange(len(data))]


def delete_range(rng: random.Random, data: bytes, corpus) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 16):]


def insert_bytes(rng: random.Random, data: bytes, corpus) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.randbytes(rng.randint(1, 8)) + data[i:]


# --- section-level ----------------------------------------------------------------------


def overlong_leb(rng: random.Random, data: bytes, corpus) -> bytes:
    """A section size (or the leading count of a payload) re-encoded with padding: 5 bytes is
    still well formed for a u32, 6 is not."""
    secs = sections(data)
    if not secs:
        return flip_bytes(rng, data, corpus)
    i = rng.randrange(len(secs))
    width = rng.choice((2, 5, 5, 6))
    if rng.random() < 0.5:
        return assemble(secs, {i: width})
    sid, payload = secs[i]
    count = read_uleb(payload, 0)
    if count is None:
        return assemble(secs, {i: width})
    secs[i] = (sid, uleb(count[0], width) + payload[count[1]:])
    return assemble(secs)


def huge_count(rng: random.Random, data: bytes, corpus) -> bytes:
    secs = sections(data)
    if not secs:
        return flip_bytes(rng, data, corpus)
    i = rng.randrange(len(secs))
    sid, payload = secs[i]
    count = read_uleb(payload, 0)
    rest = payload[count[1]:] if count else payload
    secs[i] = (sid, uleb(rng.choice(HUGE)) + rest)
    if rng.random() < 0.3:  # or a section size that claims more than there is
        return HEADER + b"".join(bytes([s]) + uleb(rng.choice(HUGE) if j == i else len(p)) + p
                                 for j, (s, p) in enumerate(secs))
    return assemble(secs)


def duplicate_section(rng: random.Random, data: bytes, corpus) -> bytes:
    secs = sections(data)
    if not secs:
        return truncate(rng, data, corpus)
    i = rng.randrange(len(secs))
    secs.insert(rng.randrange(len(secs) + 1), secs[i])
    return assemble(secs)


def reorder_sections(rng: random.Random, data: bytes, corpus) -> bytes:
    secs = sections(data)
    if not secs or len(secs) < 2:
        return flip_bytes(rng, data, corpus)
    i, j = rng.sample(range(len(secs)), 2)
    secs[i], secs[j] = secs[j], secs[i]
    return assemble(secs)


def drop_section(rng: random.Random, data: bytes, corpus) -> bytes:
    secs = sections(data)
    if not secs:
        return truncate(rng, data, corpus)
    del secs[rng.randrange(len(secs))]
    return assemble(secs)


def splice_section(rng: random.Random, data: bytes, corpus) -> bytes:
    """A section of another seed, put in place of one of ours (or added)."""
    secs = sections(data)
    other = sections(corpus[rng.randrange(len(corpus))])
    if not secs or not other:
        return flip_bytes(rng, data, corpus)
    donor = other[rng.randrange(len(other))]
    same = [k for k, (sid, _) in enumerate(secs) if sid == donor[0]]
    if same and rng.random() < 0.8:
        secs[rng.choice(same)] = donor
    else:
        secs.insert(rng.randrange(len(secs) + 1), donor)
    return assemble(secs)


# --- instructions -----------------------------------------------------------------------


def _imm(rng: random.Random, kind: str) -> bytes:
    idx = rng.choice(INDICES)
    if kind == "memarg":
        if rng.random() < 0.5:
            return uleb(rng.randrange(5)) + uleb(rng.choice((0, 1, 8, 1 << 32, (1 << 64) - 1)))
        return uleb(0x40 | rng.randrange(5)) + uleb(idx) + uleb(rng.randrange(16))
    if kind == "blocktype":
        return rng.choice((b"\x40", b"\x7f", b"\x7e", b"\x7b", b"\x70", sleb(idx)))
    if kind == "heaptype":
        return rng.choice((b"\x70", b"\x6f", b"\x6e", b"\x6b", b"\x6a", b"\x71", sleb(idx)))
    if kind == "br_table":
        n = rng.randrange(4)
        return uleb(n) + b"".join(uleb(rng.randrange(4)) for _ in range(n + 1))
    if kind == "br_on_cast":
        return bytes([rng.randrange(4)]) + uleb(rng.randrange(3)) + sleb(idx) + _imm(rng, "heaptype")
    if kind == "try_table":
        return b"\x40" + uleb(1) + bytes([rng.randrange(4)]) + uleb(idx) + uleb(rng.randrange(3))
    if kind == "valtypes":
        return uleb(1) + rng.choice((b"\x7f", b"\x7b", b"\x63" + sleb(idx), b"\x64\x70"))
    if kind in ("i32", "i64"):
        return sleb(rng.choice((0, 1, -1, 1 << 31, -(1 << 63))))
    fixed = {"f32": 4, "f64": 8, "v128": 16, "shuffle": 16}
    if kind in fixed:
        return rng.randbytes(fixed[kind])
    if kind.startswith("lane"):
        return bytes([rng.choice((0, 1, 3, 7, 15, 16, 31, 32, 255))])
    if kind == "zero":
        return b"\0"
    return uleb(idx)  # every *idx kind, and u32


def random_instruction(rng: random.Random) -> bytes:
    op = OPCODES[rng.randrange(len(OPCODES))]
    head = bytes([op.code]) if op.prefix is None else bytes([op.prefix]) + uleb(op.code)
    return head + b"".join(_imm(rng, k) for k in op.imms)


def insert_instructions(rng: random.Random, data: bytes, corpus) -> bytes:
    """Instructions from the opcode table put into a function body (body and section sizes
    fixed up), sometimes after an `unreachable` so that operand checks pass."""
    secs = sections(data)
    code = [k for k, (sid, _) in enumerate(secs or []) if sid == 10]
    if not code:
        return insert_bytes(rng, data, corpus)
    k = code[0]
    payload = secs[k][1]
    count = read_uleb(payload, 0)
    if count is None or count[0] == 0:
        return insert_bytes(rng, data, corpus)
    bodies, pos = [], count[1]
    for _ in range(count[0]):
        size = read_uleb(payload, pos)
        if size is None or size[1] + size[0] > len(payload):
            return insert_bytes(rng, data, corpus)
        bodies.append(payload[size[1]:size[1] + size[0]])
        pos = size[1] + size[0]
    j = rng.randrange(len(bodies))
    body = bodies[j]
    new = (b"\0" if rng.random() < 0.5 else b"") + b"".join(
        random_instruction(rng) for _ in range(rng.randint(1, 3)))
    at = rng.randrange(max(1, len(body)))  # before the last byte (the final `end`), roughly
    bodies[j] = body[:at] + new + body[at:]
    secs[k] = (10, uleb(len(bodies)) + b"".join(uleb(len(b)) + b for b in bodies)
               + payload[pos:])
    return assemble(secs)


MUTATORS = (
    flip_bytes, flip_bytes, truncate, delete_range, insert_bytes, overlong_leb, huge_count,
    duplicate_section, reorder_sections, drop_section, splice_section,
    insert_instructions, insert_instructions, insert_instructions, insert_instructions,
    insert_instructions, overlong_leb, drop_section,
)


def mutated(rng: random.Random, corpus: list[bytes], valid: list[bytes]) -> tuple[bytes, list]:
    """One input: a seed through 0-3 mutations; returns it and the mutators' names.  Most
    inputs start from a valid seed (`valid`), whose damage lands deeper than that of a seed
    which is already malformed (the testsuite's utf8-*.wast alone has hundreds of those)."""
    pool = valid if valid and rng.random() < 0.85 else corpus
    data = pool[rng.randrange(len(pool))]
    names = []
    if rng.random() < 0.03:  # the seed itself: our verdict on seeds is compared too
        return data, ["seed"]
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if not data:
            break
        m = rng.choice(MUTATORS)
        data = m(rng, data, corpus)
        names.append(m.__name__)
    return data, names
