"""Inputs for tests/wasm/test_robustness.py: the WAT seed modules, binary helpers that frame a
module without our decoder, the mutators hypothesis draws from, and hand-built pathological
inputs.  Nothing here runs the frontend."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from wasmaot.wasm.leb128 import uleb

# ---------------------------------------------------------------------------------------------
# WAT seeds: small hand-written modules that reach features smith rarely emits

WAT_SEEDS = {
    "mvp": """
(module $mvp
  (type $bin (func (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (import "env" "g" (global $g_imp i32))
  (memory $mem 1 4)
  (table $tab 4 funcref)
  (global $counter (mut i32) (i32.const 0))
  (global $k i64 (i64.const -42))
  (elem (i32.const 0) $add $sub $add $classify)
  (data (i32.const 16) "hello, world\\00")
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
  (func $classify (param $x i32) (param $y i32) (result i32)
    (block $c (block $b (block $a
      (br_table $a $b $c (local.get $x)))
      (return (i32.const 10)))
      (return (i32.const 20)))
    (i32.const 30))
  (func $loop (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $f f64)
    (loop $top
      (local.set $acc (i32.add (local.get $acc) (i32.load8_u offset=16 (local.get $i))))
      (local.set $f (f64.add (local.get $f) (f64.convert_i32_s (local.get $acc))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
    (if (result i32) (f64.gt (local.get $f) (f64.const 1e3))
      (then (call_indirect (type $bin) (local.get $acc) (i32.const 1) (i32.const 1)))
      (else (i32.trunc_f64_s (f64.sqrt (local.get $f))))))
  (func $start
    (global.set $counter (i32.add (global.get $g_imp) (i32.wrap_i64 (global.get $k))))
    (call $log (global.get $counter))
    (drop (memory.grow (i32.const 1)))
    (i64.store (i32.const 8) (i64.extend_i32_u (memory.size)))
    (f32.store (i32.const 0) (f32.demote_f64 (f64.const 2.5)))
    (drop (select (i32.const 1) (i32.const 2) (i32.eqz (i32.const 0)))))
  (start $start))
""",
    "bulk-memory": """
(module
  (memory 1)
  (table $t 2 10 funcref)
  (table $e 0 externref)
  (data $p "passive data")
  (data (i32.const 0) "active")
  (elem $pe func $f $g)
  (elem declare func $h)
  (elem (table $t) (i32.const 0) funcref (ref.func $f) (ref.null func))
  (func $f (result i32) (i32.const 1))
  (func $g (result i32) (i32.const 2))
  (func $h (param externref) (result i32)
    (memory.init $p (i32.const 100) (i32.const 0) (i32.const 4))
    (data.drop $p)
    (memory.copy (i32.const 0) (i32.const 100) (i32.const 4))
    (memory.fill (i32.const 0) (i32.const 255) (i32.const 2))
    (table.init $t $pe (i32.const 0) (i32.const 0) (i32.const 2))
    (elem.drop $pe)
    (table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))
    (drop (table.grow $e (local.get 0) (i32.const 1)))
    (table.set $e (i32.const 0) (local.get 0))
    (drop (ref.is_null (table.get $e (i32.const 0))))
    (drop (ref.func $h))
    (i32.add (table.size $t) (i32.trunc_sat_f32_u (f32.const 3.5)))
    (i32.extend8_s)))
""",
    "gc": """
(module
  (rec
    (type $node (sub (struct (field $val (mut i32)) (field $next (ref null $node)))))
    (type $leaf (sub final $node (struct (field $val (mut i32)) (field $next (ref null $node)) (field $extra f64)))))
  (type $arr (array (mut i16)))
  (type $fa (array (ref null $node)))
  (type $fn (func (param (ref $node)) (result i32)))
  (global $g (ref null $node) (struct.new $node (i32.const 1) (ref.null $node)))
  (global $a (ref $arr) (array.new_fixed $arr 3 (i32.const 1) (i32.const 2) (i32.const 3)))
  (func $len (type $fn) (param $n (ref $node)) (result i32) (local $l (ref null $node)) (local $c i32)
    (local.set $l (local.get $n))
    (block $done
      (loop $walk
        (br_on_null $done (local.get $l))
        (drop)
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (local.set $l (struct.get $node $next (ref.as_non_null (local.get $l))))
        (br $walk)))
    (local.get $c))
  (func (export "main") (result i32) (local $x anyref)
    (local.set $x (ref.i31 (i32.const 7)))
    (drop (ref.test (ref i31) (local.get $x)))
    (block $b (result (ref $leaf))
      (drop (br_on_cast $b anyref (ref $leaf) (local.get $x)))
      (struct.new $leaf (i32.const 1) (ref.null none) (f64.const 0)))
    (call $len)
    (array.get_s $arr (global.get $a) (i32.const 1))
    (i32.add)
    (array.len (array.new_default $arr (i32.const 4)))
    (i32.add)
    (i31.get_s (ref.cast (ref i31) (local.get $x)))
    (i32.add)
    (drop (any.convert_extern (extern.convert_any (local.get $x))))
    (drop (ref.eq (ref.i31 (i32.const 1)) (global.get $g)))))
""",
    "exceptions-tail-calls": """
(module
  (tag $e (param i32))
  (tag $e2)
  (func $thrower (param i32) (if (local.get 0) (then (throw $e (i32.const 42)))))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (block $h2 (result exnref)
        (block $h3
          (try_table (catch $e $h) (catch_all_ref $h2) (catch $e2 $h3)
            (call $thrower (local.get 0)))
          (return (i32.const 0)))
        (return (i32.const 2)))
      (throw_ref))
    (return_call $id))
  (func $id (param i32) (result i32) (local.get 0)))
""",
    "simd": """
(module
  (memory 1)
  (func (export "v") (param i32) (result i32) (local v128)
    (local.set 1 (v128.load offset=16 align=8 (local.get 0)))
    (local.set 1 (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 (local.get 1) (v128.const i32x4 1 2 3 4)))
    (local.set 1 (i32x4.add (local.get 1) (i32x4.splat (local.get 0))))
    (local.set 1 (f32x4.mul (local.get 1) (f32x4.relaxed_madd (local.get 1) (local.get 1) (local.get 1))))
    (local.set 1 (i8x16.relaxed_swizzle (local.get 1) (local.get 1)))
    (local.set 1 (v128.load8_lane 3 (local.get 0) (local.get 1)))
    (v128.store32_lane offset=4 1 (local.get 0) (local.get 1))
    (v128.store (i32.const 0) (v128.bitselect (local.get 1) (local.get 1) (local.get 1)))
    (i32.add (i32x4.extract_lane 2 (local.get 1)) (i8x16.bitmask (local.get 1)))))
""",
    "memory64-multi-memory-threads": """
(module
  (memory $a i64 1 10)
  (memory $b 1 1 shared)
  (memory $c 1 (pagesize 1))
  (table $t64 i64 2 funcref)
  (global $x i64 (i64.add (i64.const 1) (i64.mul (i64.const 2) (i64.const 3))))
  (func $f (param i64) (result i64)
    (i64.store $a offset=8 (local.get 0) (i64.const 5))
    (drop (i32.atomic.rmw.add $b (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify $b (i32.const 0) (i32.const 1)))
    (atomic.fence)
    (i32.store8 $c (i32.const 0) (i32.const 1))
    (drop (i64.add128 (local.get 0) (local.get 0) (local.get 0) (local.get 0)))
    (drop (table.size $t64))
    (i64.load $a (local.get 0))
    (return_call $g (memory.size $a)))
  (func $g (param i64) (param i64) (result i64) (i64.add (local.get 0) (local.get 1))))
""",
}


# ---------------------------------------------------------------------------------------------
# Binary helpers for the mutators (kept independent of the decoder under test)

HEADER = b"\0asm\x01\0\0\0"


def read_leb(buf: bytes, pos: int, limit: int = 10) -> tuple[int, int] | None:
    """(value, end) of the unsigned LEB128 at pos, or None if it runs off the end."""
    value = shift = 0
    for i in range(limit):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, pos + i + 1
    return None


@dataclass
class Section:
    id: int
    start: int  # the id byte
    size_pos: int
    body: int
    end: int


def sections(buf: bytes) -> list[Section]:
    """Top-level sections, as far as they can be framed (stops at the first that cannot)."""
    out, pos = [], 8
    while pos < len(buf):
        r = read_leb(buf, pos + 1)
        if r is None or r[1] + r[0] > len(buf):
            break
        out.append(Section(buf[pos], pos, pos + 1, r[1], r[1] + r[0]))
        pos = r[1] + r[0]
    return out


def leb_sites(buf: bytes) -> list[int]:
    """Offsets of LEB128 fields worth rewriting: section sizes, each section's leading count,
    and in the code section each body's size, local-declaration count and local run counts."""
    sites = []
    for s in sections(buf):
        sites.append(s.size_pos)
        if s.body < s.end:
            sites.append(s.body)
        if s.id != 10 or s.body >= s.end:
            continue
        r = read_leb(buf, s.body)
        if r is None:
            continue
        n, p = r
        for _ in range(min(n, 200)):
            r = read_leb(buf, p)
            if r is None:
                break
            size, q = r
            end = q + size
            sites += [p, q]
            r = read_leb(buf, q)
            if r is None:
                break
            nloc, q = r
            for _ in range(min(nloc, 20)):
                if q >= end:
                    break
                sites.append(q)
                r = read_leb(buf, q)
                if r is None:
                    break
                q = r[1] + 1  # skip the valtype's first byte (approximate for reference types)
            p = end
            if p >= s.end:
                break
    return [x for x in sites if x < len(buf)]


def code_bodies(buf: bytes, sec: Section) -> tuple[int, list[tuple[int, int]]] | None:
    """(declared count, [(start, end) of each body's contents]) of a code section."""
    r = read_leb(buf, sec.body)
    if r is None:
        return None
    count, p = r
    bodies = []
    for _ in range(min(count, 100_000)):
        r = read_leb(buf, p)
        if r is None or r[1] + r[0] > sec.end:
            return None
        bodies.append((r[1], r[1] + r[0]))
        p = r[1] + r[0]
    return (count, bodies) if p == sec.end else None


def edit_framed(buf: bytes, pos: int, delete: int, insert: bytes) -> bytearray | None:
    """Replace buf[pos:pos+delete] by `insert` and rewrite the sizes around it (the section's,
    and the function body's inside the code section), so that the edit reaches the decoder of
    what it hits instead of failing the section framing.  None if pos is in no section."""
    for s in sections(buf):
        if s.body <= pos < s.end:
            break
    else:
        return None
    content = bytearray(buf[s.body:s.end])
    framed = code_bodies(buf, s) if s.id == 10 else None
    hit = [b for b in framed[1] if b[0] <= pos < b[1]] if framed else []
    if hit:
        count, bodies = framed
        parts = [uleb(count)]
        for start, end in bodies:
            body = bytearray(buf[start:end])
            if (start, end) == hit[0]:
                rel = pos - start
                body[rel:rel + delete] = insert
            parts.append(uleb(len(body)) + body)
        content = bytearray(b"".join(parts))
    else:
        rel = pos - s.body
        content[rel:rel + delete] = insert
    return bytearray(buf[:s.start]) + bytes([s.id]) + uleb(len(content)) + content + buf[s.end:]


# ---------------------------------------------------------------------------------------------
# Mutators: each takes hypothesis' `draw`, the buffer and the corpus, and returns the new buffer
# and a short description for the failure message.

INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0B, 0x0C, 0x0E, 0x1C, 0x40, 0x60, 0x63, 0x64,
                     0x6F, 0x70, 0x7B, 0x7F, 0x80, 0xD0, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF]
BIG_VALUES = [1 << 7, 1 << 14, 1 << 16, 1 << 21, 1 << 28, 1 << 31, (1 << 32) - 1, 50_000, 100_000, 10_000_000]


def _pos(draw, buf, extra: int = 0) -> int:
    """A position in buf; past the 8-byte header 9 times out of 10 (hypothesis favours small
    integers, and a broken header only ever tests the first check)."""
    hi = max(0, len(buf) - 1 + extra)
    lo = 8 if hi >= 8 and draw(st.integers(0, 9)) > 0 else 0
    return draw(st.integers(lo, hi))


def m_flip_bit(draw, buf, corpus):
    if not buf:
        return buf, "flip: empty"
    p, bit = _pos(draw, buf), draw(st.integers(0, 7))
    buf[p] ^= 1 << bit
    return buf, f"flip bit {bit} at {p:#x}"


def m_set_byte(draw, buf, corpus):
    if not buf:
        return buf, "set: empty"
    p = _pos(draw, buf)
    v = draw(st.one_of(st.sampled_from(INTERESTING_BYTES), st.integers(0, 255)))
    buf[p] = v
    return buf, f"set byte at {p:#x} to {v:#04x}"


def _splice(draw, buf, p: int, delete: int, insert: bytes, what: str):
    """Apply an edit, half of the time with the enclosing sizes rewritten (`edit_framed`)."""
    if draw(st.booleans()):
        fixed = edit_framed(buf, p, delete, insert)
        if fixed is not None:
            return fixed, what + " (sizes fixed)"
    buf[p:p + delete] = insert
    return buf, what


def m_insert(draw, buf, corpus):
    p = _pos(draw, buf, extra=1)
    ins = draw(st.one_of(st.binary(min_size=1, max_size=8),
                         st.lists(st.sampled_from(INTERESTING_BYTES), min_size=1, max_size=4).map(bytes)))
    return _splice(draw, buf, p, 0, ins, f"insert {ins.hex()} at {p:#x}")


def m_delete(draw, buf, corpus):
    if not buf:
        return buf, "delete: empty"
    p, n = _pos(draw, buf), draw(st.integers(1, 16))
    return _splice(draw, buf, p, n, b"", f"delete {n} bytes at {p:#x}")


def m_truncate(draw, buf, corpus):
    p = _pos(draw, buf)
    return buf[:p], f"truncate to {p:#x}"


def m_copy_chunk(draw, buf, corpus):
    if not buf:
        return buf, "copy: empty"
    src, n, dst = _pos(draw, buf), draw(st.integers(1, 64)), _pos(draw, buf, extra=1)
    chunk = bytes(buf[src:src + n])
    return _splice(draw, buf, dst, 0, chunk, f"copy {len(chunk)} bytes from {src:#x} to {dst:#x}")


def m_swap_body(draw, buf, corpus):
    """Replace one function body by a body from any seed (sizes fixed): mostly type errors."""
    code = [s for s in sections(buf) if s.id == 10]
    framed = code_bodies(buf, code[0]) if code else None
    if not framed or not framed[1]:
        return m_set_byte(draw, buf, corpus)
    start, end = draw(st.sampled_from(framed[1]))
    donor_name, donor = draw(st.sampled_from(corpus))
    donor_code = [s for s in sections(donor) if s.id == 10]
    donor_framed = code_bodies(donor, donor_code[0]) if donor_code else None
    if not donor_framed or not donor_framed[1]:
        return buf, "swap body: donor has no code"
    d_start, d_end = draw(st.sampled_from(donor_framed[1]))
    fixed = edit_framed(buf, start, end - start, donor[d_start:d_end])
    if fixed is None:  # an empty body cannot be hit by position; leave the module as it was
        return buf, "swap body: empty body"
    return fixed, f"body at {start:#x} replaced by the body at {d_start:#x} of {donor_name}"


def m_leb(draw, buf, corpus):
    sites = leb_sites(buf)
    if sites and draw(st.integers(0, 3)) > 0:
        p = draw(st.sampled_from(sites))
    elif buf:
        p = _pos(draw, buf)
    else:
        return buf, "leb: empty"
    old = read_leb(buf, p, limit=5)
    value, end = old if old else (buf[p] & 0x7F, p + 1)
    how = draw(st.sampled_from(["overlong", "too-long", "unused-bits", "too-large", "max-u32", "big",
                                "plus-one", "minus-one", "zero"]))
    if how == "overlong":  # same value, one byte longer (valid while it stays within 5 bytes)
        new = uleb(value, width=end - p + 1)
    elif how == "too-long":  # six bytes for a u32
        new = uleb(value, width=6)
    elif how == "unused-bits":  # five bytes with bits set above bit 31
        new = bytearray(uleb(value & 0xFFFFFFFF, width=5))
        new[4] |= 0x70
        new = bytes(new)
    elif how == "too-large":
        new = uleb(1 << 32)
    elif how == "max-u32":
        new = uleb(0xFFFFFFFF)
    elif how == "big":
        new = uleb(draw(st.sampled_from(BIG_VALUES)) + draw(st.integers(-2, 2)))
    elif how == "plus-one":
        new = uleb(value + 1)
    elif how == "minus-one":
        new = uleb(max(value - 1, 0))
    else:
        new = uleb(0)
    buf[p:end] = new
    return buf, f"LEB at {p:#x}: {value} -> {how} ({new.hex()})"


def m_sections(draw, buf, corpus):
    secs = sections(buf)
    if not secs:
        return m_insert(draw, buf, corpus)
    raw = [bytes(buf[s.start:s.end]) for s in secs]
    tail = bytes(buf[secs[-1].end:])
    i = draw(st.integers(0, len(raw) - 1))
    how = draw(st.sampled_from(["drop", "duplicate", "swap", "move", "graft", "replace", "retag"]))
    if how == "drop":
        del raw[i]
    elif how == "duplicate":
        raw.insert(i, raw[i])
    elif how in ("swap", "move"):
        j = draw(st.integers(0, len(raw) - 1))
        if how == "swap":
            raw[i], raw[j] = raw[j], raw[i]
        else:
            raw.insert(j, raw.pop(i))
        how += f" with {j}"
    else:
        donor_name, donor = draw(st.sampled_from(corpus))
        donor_secs = sections(donor)
        if not donor_secs:
            return buf, "sections: donor has none"
        if how == "replace":  # the donor's section with the same id, when it has one
            same = [s for s in donor_secs if s.id == secs[i].id] or donor_secs
            d = draw(st.sampled_from(same))
            raw[i] = donor[d.start:d.end]
        elif how == "graft":
            d = draw(st.sampled_from(donor_secs))
            raw.insert(i, donor[d.start:d.end])
        else:  # retag: keep the contents, change the id
            new_id = draw(st.one_of(st.integers(0, 13), st.integers(0, 255)))
            raw[i] = bytes([new_id]) + raw[i][1:]
            how += f" to {new_id}"
        if how in ("replace", "graft"):
            how += f" from {donor_name} section id {d.id}"
    return bytearray(buf[:8] + b"".join(raw) + tail), f"sections: {how} at index {i}"


MUTATORS = [m_flip_bit, m_set_byte, m_insert, m_delete, m_truncate, m_copy_chunk, m_leb, m_leb, m_sections,
            m_swap_body]


@st.composite
def mutated_module(draw, corpus):
    name, data = draw(st.sampled_from(corpus))
    buf = bytearray(data)
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        mutator = draw(st.sampled_from(MUTATORS))
        buf, what = mutator(draw, buf, corpus)
        steps.append(what)
    return bytes(buf), f"{name}: " + "; ".join(steps)


# ---------------------------------------------------------------------------------------------
# Random bytes


def section_soup():
    """A valid header followed by well-framed sections of random contents, so that inputs get
    past the framing and into each section's decoder."""
    section = st.tuples(
        st.one_of(st.integers(0, 13), st.integers(0, 255)),
        st.one_of(
            st.binary(max_size=64),
            st.tuples(st.integers(0, 300), st.binary(max_size=64)).map(lambda t: uleb(t[0]) + t[1]),
        ),
    ).map(lambda t: bytes([t[0]]) + uleb(len(t[1])) + t[1])
    return st.lists(section, max_size=12).map(lambda secs: HEADER + b"".join(secs))


random_input = st.one_of(
    st.binary(max_size=256),
    st.binary(max_size=1024).map(lambda b: HEADER + b),
    section_soup(),
)


# ---------------------------------------------------------------------------------------------
# Pathological inputs that random mutation rarely builds: huge declared counts (which must not be
# preallocated) and very deep or very long structures (which must not recurse or go quadratic).


def _sec(sid: int, contents: bytes) -> bytes:
    return bytes([sid]) + uleb(len(contents)) + contents


def _vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def _one_func(body: bytes, local_decls: bytes = b"\x00") -> bytes:
    """A module with one `func () -> ()` whose body is local_decls + body."""
    code = local_decls + body
    return HEADER + _sec(1, _vec([b"\x60\x00\x00"])) + _sec(3, _vec([b"\x00"])) + _sec(10, _vec([uleb(len(code)) + code]))


N = 100_000
MAX_U32 = 0xFFFFFFFF
PATHOLOGICAL = {
    "blocks-nested-100k": _one_func(b"\x02\x40" * N + b"\x0b" * N + b"\x0b"),
    "blocks-nested-100k-unterminated": _one_func(b"\x02\x40" * N),
    "operand-stack-100k": _one_func(b"\x41\x01" * N + b"\x1a" * N + b"\x0b"),
    "locals-count-max-u32": _one_func(b"\x0b", uleb(1) + uleb(MAX_U32) + b"\x7f"),
    "locals-two-runs-of-2^31": _one_func(b"\x0b", uleb(2) + (uleb(1 << 31) + b"\x7f") * 2),
    "locals-50k-runs": _one_func(b"\x0b", uleb(50_000) + (uleb(100_000) + b"\x7f") * 50_000),
    "br_table-count-max-u32": _one_func(b"\x41\x00\x0e" + uleb(MAX_U32) + b"\x0b"),
    "br_table-100k-targets": _one_func(b"\x02\x40\x41\x00\x0e" + uleb(N) + b"\x00" * (N + 1) + b"\x0b\x0b"),
    "select-types-count-max-u32": _one_func(b"\x1c" + uleb(MAX_U32) + b"\x0b"),
    "type-count-max-u32": HEADER + _sec(1, uleb(MAX_U32)),
    "rec-group-count-max-u32": HEADER + _sec(1, _vec([b"\x4e" + uleb(MAX_U32)])),
    "struct-fields-max-u32": HEADER + _sec(1, _vec([b"\x5f" + uleb(MAX_U32)])),
    "subtype-chain-10k": HEADER + _sec(1, _vec([b"\x50\x00\x5f\x00"]
                                               + [b"\x50\x01" + uleb(i) + b"\x5f\x00" for i in range(10_000)])),
    "func-count-max-u32": HEADER + _sec(1, _vec([b"\x60\x00\x00"])) + _sec(3, uleb(MAX_U32)),
    "table-max-u32-elements": HEADER + _sec(4, _vec([b"\x70\x00" + uleb(MAX_U32)])),
    "memory64-max-u64-pages": HEADER + _sec(5, _vec([b"\x04" + uleb((1 << 64) - 1)])),
    "elem-count-max-u32": HEADER + _sec(9, _vec([b"\x00\x41\x00\x0b" + uleb(MAX_U32)])),
    "data-size-max-u32": HEADER + _sec(11, _vec([b"\x01" + uleb(MAX_U32)])),
    "const-expr-100k-deep": HEADER + _sec(6, _vec([b"\x7f\x00" + b"\x41\x01" * N + b"\x6a" * (N - 1) + b"\x0b"])),
    "custom-section-name-max-u32": HEADER + _sec(0, uleb(MAX_U32)),
    "name-section-count-max-u32": _one_func(b"\x0b") + _sec(0, b"\x04name\x01" + uleb(10) + uleb(MAX_U32) + bytes(5)),
}
