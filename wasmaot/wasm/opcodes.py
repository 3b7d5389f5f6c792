"""The one opcode table: every instruction wasmaot knows, once.

Each row gives the spec mnemonic, its encoding (prefix byte and opcode), the
immediates in binary order (spec names: memarg, labelidx, blocktype, ...), the
type signature for instructions with a fixed one, and the proposal it belongs
to.  The decoder, the validator, the printer and the lowering all derive their
dispatch from `OPCODES`; nothing else lists instructions.

Signature notation in the text tables below: `params -> results`, with the
numeric types, `v128`, and `a` for the address type (i32 or i64) of the memory
named by the row's memarg or memidx.  `custom` marks an instruction typed by a
hand-written rule in the validator (control, calls, references, GC, ...).
A memarg immediate may carry the access width in bytes, `memarg:4`, which bounds
its alignment (spec 3.4.6); atomic rows require exactly that alignment.
"""

from __future__ import annotations

from dataclasses import dataclass

# Prefix bytes (spec 5.4).
PREFIX_NONE = None
PREFIX_GC = 0xFB
PREFIX_MISC = 0xFC
PREFIX_SIMD = 0xFD
PREFIX_ATOMIC = 0xFE
PREFIXES = (PREFIX_GC, PREFIX_MISC, PREFIX_SIMD, PREFIX_ATOMIC)


@dataclass(frozen=True, slots=True, eq=False)
class Opcode:
    """One row.  Rows are unique, so identity is equality (and hashing is cheap)."""

    name: str  # unique; equals the mnemonic except for a few variants (select_t, ref.test_null)
    prefix: int | None
    code: int
    imms: tuple  # immediate kinds, in binary order
    params: tuple | None  # None: typed by a custom rule
    results: tuple | None
    proposal: str
    width: int = 0  # bytes accessed, for memory instructions (bounds the alignment)
    atomic: bool = False

    @property
    def handler_name(self) -> str:
        """Mnemonic turned into an identifier: `i32.load8_s` -> `i32_load8_s`."""
        return self.name.replace(".", "_")

    @property
    def is_custom(self) -> bool:
        return self.params is None

    @property
    def mnemonic(self) -> str:
        return _MNEMONIC_OF.get(self.name, self.name)


_MNEMONIC_OF = {
    "select_t": "select",
    "ref.test_null": "ref.test",
    "ref.cast_null": "ref.cast",
}

# --- the tables --------------------------------------------------------------
# Columns: opcode, mnemonic, immediates ("-" for none), signature.
# A line "@proposal PREFIX" starts a group.

_TABLE = """
@mvp -
0x00 unreachable            -                   custom
0x01 nop                    -                   ->
0x02 block                  blocktype           custom
0x03 loop                   blocktype           custom
0x04 if                     blocktype           custom
0x05 else                   -                   custom
0x0B end                    -                   custom
0x0C br                     labelidx            custom
0x0D br_if                  labelidx            custom
0x0E br_table               br_table            custom
0x0F return                 -                   custom
0x10 call                   funcidx             custom
0x11 call_indirect          typeidx,tableidx    custom
0x1A drop                   -                   custom
0x1B select                 -                   custom
0x20 local.get              localidx            custom
0x21 local.set              localidx            custom
0x22 local.tee              localidx            custom
0x23 global.get             globalidx           custom
0x24 global.set             globalidx           custom
0x28 i32.load               memarg:4            a -> i32
0x29 i64.load               memarg:8            a -> i64
0x2A f32.load               memarg:4            a -> f32
0x2B f64.load               memarg:8            a -> f64
0x2C i32.load8_s            memarg:1            a -> i32
0x2D i32.load8_u            memarg:1            a -> i32
0x2E i32.load16_s           memarg:2            a -> i32
0x2F i32.load16_u           memarg:2            a -> i32
0x30 i64.load8_s            memarg:1            a -> i64
0x31 i64.load8_u            memarg:1            a -> i64
0x32 i64.load16_s           memarg:2            a -> i64
0x33 i64.load16_u           memarg:2            a -> i64
0x34 i64.load32_s           memarg:4            a -> i64
0x35 i64.load32_u           memarg:4            a -> i64
0x36 i32.store              memarg:4            a i32 ->
0x37 i64.store              memarg:8            a i64 ->
0x38 f32.store              memarg:4            a f32 ->
0x39 f64.store              memarg:8            a f64 ->
0x3A i32.store8             memarg:1            a i32 ->
0x3B i32.store16            memarg:2            a i32 ->
0x3C i64.store8             memarg:1            a i64 ->
0x3D i64.store16            memarg:2            a i64 ->
0x3E i64.store32            memarg:4            a i64 ->
0x3F memory.size            memidx              -> a
0x40 memory.grow            memidx              a -> a
0x41 i32.const              i32                 -> i32
0x42 i64.const              i64                 -> i64
0x43 f32.const              f32                 -> f32
0x44 f64.const              f64                 -> f64
0x45 i32.eqz                -                   i32 -> i32
0x46 i32.eq                 -                   i32 i32 -> i32
0x47 i32.ne                 -                   i32 i32 -> i32
0x48 i32.lt_s               -                   i32 i32 -> i32
0x49 i32.lt_u               -                   i32 i32 -> i32
0x4A i32.gt_s               -                   i32 i32 -> i32
0x4B i32.gt_u               -                   i32 i32 -> i32
0x4C i32.le_s               -                   i32 i32 -> i32
0x4D i32.le_u               -                   i32 i32 -> i32
0x4E i32.ge_s               -                   i32 i32 -> i32
0x4F i32.ge_u               -                   i32 i32 -> i32
0x50 i64.eqz                -                   i64 -> i32
0x51 i64.eq                 -                   i64 i64 -> i32
0x52 i64.ne                 -                   i64 i64 -> i32
0x53 i64.lt_s               -                   i64 i64 -> i32
0x54 i64.lt_u               -                   i64 i64 -> i32
0x55 i64.gt_s               -                   i64 i64 -> i32
0x56 i64.gt_u               -                   i64 i64 -> i32
0x57 i64.le_s               -                   i64 i64 -> i32
0x58 i64.le_u               -                   i64 i64 -> i32
0x59 i64.ge_s               -                   i64 i64 -> i32
0x5A i64.ge_u               -                   i64 i64 -> i32
0x5B f32.eq                 -                   f32 f32 -> i32
0x5C f32.ne                 -                   f32 f32 -> i32
0x5D f32.lt                 -                   f32 f32 -> i32
0x5E f32.gt                 -                   f32 f32 -> i32
0x5F f32.le                 -                   f32 f32 -> i32
0x60 f32.ge                 -                   f32 f32 -> i32
0x61 f64.eq                 -                   f64 f64 -> i32
0x62 f64.ne                 -                   f64 f64 -> i32
0x63 f64.lt                 -                   f64 f64 -> i32
0x64 f64.gt                 -                   f64 f64 -> i32
0x65 f64.le                 -                   f64 f64 -> i32
0x66 f64.ge                 -                   f64 f64 -> i32
0x67 i32.clz                -                   i32 -> i32
0x68 i32.ctz                -                   i32 -> i32
0x69 i32.popcnt             -                   i32 -> i32
0x6A i32.add                -                   i32 i32 -> i32
0x6B i32.sub                -                   i32 i32 -> i32
0x6C i32.mul                -                   i32 i32 -> i32
0x6D i32.div_s              -                   i32 i32 -> i32
0x6E i32.div_u              -                   i32 i32 -> i32
0x6F i32.rem_s              -                   i32 i32 -> i32
0x70 i32.rem_u              -                   i32 i32 -> i32
0x71 i32.and                -                   i32 i32 -> i32
0x72 i32.or                 -                   i32 i32 -> i32
0x73 i32.xor                -                   i32 i32 -> i32
0x74 i32.shl                -                   i32 i32 -> i32
0x75 i32.shr_s              -                   i32 i32 -> i32
0x76 i32.shr_u              -                   i32 i32 -> i32
0x77 i32.rotl               -                   i32 i32 -> i32
0x78 i32.rotr               -                   i32 i32 -> i32
0x79 i64.clz                -                   i64 -> i64
0x7A i64.ctz                -                   i64 -> i64
0x7B i64.popcnt             -                   i64 -> i64
0x7C i64.add                -                   i64 i64 -> i64
0x7D i64.sub                -                   i64 i64 -> i64
0x7E i64.mul                -                   i64 i64 -> i64
0x7F i64.div_s              -                   i64 i64 -> i64
0x80 i64.div_u              -                   i64 i64 -> i64
0x81 i64.rem_s              -                   i64 i64 -> i64
0x82 i64.rem_u              -                   i64 i64 -> i64
0x83 i64.and                -                   i64 i64 -> i64
0x84 i64.or                 -                   i64 i64 -> i64
0x85 i64.xor                -                   i64 i64 -> i64
0x86 i64.shl                -                   i64 i64 -> i64
0x87 i64.shr_s              -                   i64 i64 -> i64
0x88 i64.shr_u              -                   i64 i64 -> i64
0x89 i64.rotl               -                   i64 i64 -> i64
0x8A i64.rotr               -                   i64 i64 -> i64
0x8B f32.abs                -                   f32 -> f32
0x8C f32.neg                -                   f32 -> f32
0x8D f32.ceil               -                   f32 -> f32
0x8E f32.floor              -                   f32 -> f32
0x8F f32.trunc              -                   f32 -> f32
0x90 f32.nearest            -                   f32 -> f32
0x91 f32.sqrt               -                   f32 -> f32
0x92 f32.add                -                   f32 f32 -> f32
0x93 f32.sub                -                   f32 f32 -> f32
0x94 f32.mul                -                   f32 f32 -> f32
0x95 f32.div                -                   f32 f32 -> f32
0x96 f32.min                -                   f32 f32 -> f32
0x97 f32.max                -                   f32 f32 -> f32
0x98 f32.copysign           -                   f32 f32 -> f32
0x99 f64.abs                -                   f64 -> f64
0x9A f64.neg                -                   f64 -> f64
0x9B f64.ceil               -                   f64 -> f64
0x9C f64.floor              -                   f64 -> f64
0x9D f64.trunc              -                   f64 -> f64
0x9E f64.nearest            -                   f64 -> f64
0x9F f64.sqrt               -                   f64 -> f64
0xA0 f64.add                -                   f64 f64 -> f64
0xA1 f64.sub                -                   f64 f64 -> f64
0xA2 f64.mul                -                   f64 f64 -> f64
0xA3 f64.div                -                   f64 f64 -> f64
0xA4 f64.min                -                   f64 f64 -> f64
0xA5 f64.max                -                   f64 f64 -> f64
0xA6 f64.copysign           -                   f64 f64 -> f64
0xA7 i32.wrap_i64           -                   i64 -> i32
0xA8 i32.trunc_f32_s        -                   f32 -> i32
0xA9 i32.trunc_f32_u        -                   f32 -> i32
0xAA i32.trunc_f64_s        -                   f64 -> i32
0xAB i32.trunc_f64_u        -                   f64 -> i32
0xAC i64.extend_i32_s       -                   i32 -> i64
0xAD i64.extend_i32_u       -                   i32 -> i64
0xAE i64.trunc_f32_s        -                   f32 -> i64
0xAF i64.trunc_f32_u        -                   f32 -> i64
0xB0 i64.trunc_f64_s        -                   f64 -> i64
0xB1 i64.trunc_f64_u        -                   f64 -> i64
0xB2 f32.convert_i32_s      -                   i32 -> f32
0xB3 f32.convert_i32_u      -                   i32 -> f32
0xB4 f32.convert_i64_s      -                   i64 -> f32
0xB5 f32.convert_i64_u      -                   i64 -> f32
0xB6 f32.demote_f64         -                   f64 -> f32
0xB7 f64.convert_i32_s      -                   i32 -> f64
0xB8 f64.convert_i32_u      -                   i32 -> f64
0xB9 f64.convert_i64_s      -                   i64 -> f64
0xBA f64.convert_i64_u      -                   i64 -> f64
0xBB f64.promote_f32        -                   f32 -> f64
0xBC i32.reinterpret_f32    -                   f32 -> i32
0xBD i64.reinterpret_f64    -                   f64 -> i64
0xBE f32.reinterpret_i32    -                   i32 -> f32
0xBF f64.reinterpret_i64    -                   i64 -> f64

@sign_extension -
0xC0 i32.extend8_s          -                   i32 -> i32
0xC1 i32.extend16_s         -                   i32 -> i32
0xC2 i64.extend8_s          -                   i64 -> i64
0xC3 i64.extend16_s         -                   i64 -> i64
0xC4 i64.extend32_s         -                   i64 -> i64

@saturating_float_to_int 0xFC
0x00 i32.trunc_sat_f32_s    -                   f32 -> i32
0x01 i32.trunc_sat_f32_u    -                   f32 -> i32
0x02 i32.trunc_sat_f64_s    -                   f64 -> i32
0x03 i32.trunc_sat_f64_u    -                   f64 -> i32
0x04 i64.trunc_sat_f32_s    -                   f32 -> i64
0x05 i64.trunc_sat_f32_u    -                   f32 -> i64
0x06 i64.trunc_sat_f64_s    -                   f64 -> i64
0x07 i64.trunc_sat_f64_u    -                   f64 -> i64

@bulk_memory 0xFC
0x08 memory.init            dataidx,memidx      custom
0x09 data.drop              dataidx             ->
0x0A memory.copy            memidx,memidx       custom
0x0B memory.fill            memidx              a i32 a ->
0x0C table.init             elemidx,tableidx    custom
0x0D elem.drop              elemidx             ->
0x0E table.copy             tableidx,tableidx   custom

@reference_types -
0x1C select_t               valtypes            custom
0x25 table.get              tableidx            custom
0x26 table.set              tableidx            custom
0xD0 ref.null               heaptype            custom
0xD1 ref.is_null            -                   custom
0xD2 ref.func               funcidx             custom

@reference_types 0xFC
0x0F table.grow             tableidx            custom
0x10 table.size             tableidx            custom
0x11 table.fill             tableidx            custom

@tail_call -
0x12 return_call            funcidx             custom
0x13 return_call_indirect   typeidx,tableidx    custom

@function_references -
0x14 call_ref               typeidx             custom
0x15 return_call_ref        typeidx             custom
0xD4 ref.as_non_null        -                   custom
0xD5 br_on_null             labelidx            custom
0xD6 br_on_non_null         labelidx            custom

@exceptions -
0x08 throw                  tagidx              custom
0x0A throw_ref              -                   custom
0x1F try_table              try_table           custom

@legacy_exceptions -
0x06 try                    blocktype           custom
0x07 catch                  tagidx              custom
0x09 rethrow                labelidx            custom
0x18 delegate               labelidx            custom
0x19 catch_all              -                   custom

@gc -
0xD3 ref.eq                 -                   custom

@gc 0xFB
0x00 struct.new             typeidx             custom
0x01 struct.new_default     typeidx             custom
0x02 struct.get             typeidx,fieldidx    custom
0x03 struct.get_s           typeidx,fieldidx    custom
0x04 struct.get_u           typeidx,fieldidx    custom
0x05 struct.set             typeidx,fieldidx    custom
0x06 array.new              typeidx             custom
0x07 array.new_default      typeidx             custom
0x08 array.new_fixed        typeidx,u32         custom
0x09 array.new_data         typeidx,dataidx     custom
0x0A array.new_elem         typeidx,elemidx     custom
0x0B array.get              typeidx             custom
0x0C array.get_s            typeidx             custom
0x0D array.get_u            typeidx             custom
0x0E array.set              typeidx             custom
0x0F array.len              -                   custom
0x10 array.fill             typeidx             custom
0x11 array.copy             typeidx,typeidx     custom
0x12 array.init_data        typeidx,dataidx     custom
0x13 array.init_elem        typeidx,elemidx     custom
0x14 ref.test               heaptype            custom
0x15 ref.test_null          heaptype            custom
0x16 ref.cast               heaptype            custom
0x17 ref.cast_null          heaptype            custom
0x18 br_on_cast             br_on_cast          custom
0x19 br_on_cast_fail        br_on_cast          custom
0x1A any.convert_extern     -                   custom
0x1B extern.convert_any     -                   custom
0x1C ref.i31                -                   custom
0x1D i31.get_s              -                   custom
0x1E i31.get_u              -                   custom

@custom_descriptors 0xFB
0x20 struct.new_desc            typeidx         custom
0x21 struct.new_default_desc    typeidx         custom
0x22 ref.get_desc               typeidx         custom
0x23 ref.cast_desc_eq           heaptype        custom
0x24 ref.cast_desc_eq_null      heaptype        custom
0x25 br_on_cast_desc_eq         br_on_cast      custom
0x26 br_on_cast_desc_eq_fail    br_on_cast      custom

@wide_arithmetic 0xFC
0x13 i64.add128             -                   i64 i64 i64 i64 -> i64 i64
0x14 i64.sub128             -                   i64 i64 i64 i64 -> i64 i64
0x15 i64.mul_wide_s         -                   i64 i64 -> i64 i64
0x16 i64.mul_wide_u         -                   i64 i64 -> i64 i64

@simd 0xFD
0x00 v128.load              memarg:16           a -> v128
0x01 v128.load8x8_s         memarg:8            a -> v128
0x02 v128.load8x8_u         memarg:8            a -> v128
0x03 v128.load16x4_s        memarg:8            a -> v128
0x04 v128.load16x4_u        memarg:8            a -> v128
0x05 v128.load32x2_s        memarg:8            a -> v128
0x06 v128.load32x2_u        memarg:8            a -> v128
0x07 v128.load8_splat       memarg:1            a -> v128
0x08 v128.load16_splat      memarg:2            a -> v128
0x09 v128.load32_splat      memarg:4            a -> v128
0x0A v128.load64_splat      memarg:8            a -> v128
0x0B v128.store             memarg:16           a v128 ->
0x0C v128.const             v128                -> v128
0x0D i8x16.shuffle          shuffle             v128 v128 -> v128
0x0E i8x16.swizzle          -                   v128 v128 -> v128
0x0F i8x16.splat            -                   i32 -> v128
0x10 i16x8.splat            -                   i32 -> v128
0x11 i32x4.splat            -                   i32 -> v128
0x12 i64x2.splat            -                   i64 -> v128
0x13 f32x4.splat            -                   f32 -> v128
0x14 f64x2.splat            -                   f64 -> v128
0x15 i8x16.extract_lane_s   lane16              v128 -> i32
0x16 i8x16.extract_lane_u   lane16              v128 -> i32
0x17 i8x16.replace_lane     lane16              v128 i32 -> v128
0x18 i16x8.extract_lane_s   lane8               v128 -> i32
0x19 i16x8.extract_lane_u   lane8               v128 -> i32
0x1A i16x8.replace_lane     lane8               v128 i32 -> v128
0x1B i32x4.extract_lane     lane4               v128 -> i32
0x1C i32x4.replace_lane     lane4               v128 i32 -> v128
0x1D i64x2.extract_lane     lane2               v128 -> i64
0x1E i64x2.replace_lane     lane2               v128 i64 -> v128
0x1F f32x4.extract_lane     lane4               v128 -> f32
0x20 f32x4.replace_lane     lane4               v128 f32 -> v128
0x21 f64x2.extract_lane     lane2               v128 -> f64
0x22 f64x2.replace_lane     lane2               v128 f64 -> v128
0x4D v128.not               -                   v128 -> v128
0x4E v128.and               -                   v128 v128 -> v128
0x4F v128.andnot            -                   v128 v128 -> v128
0x50 v128.or                -                   v128 v128 -> v128
0x51 v128.xor               -                   v128 v128 -> v128
0x52 v128.bitselect         -                   v128 v128 v128 -> v128
0x53 v128.any_true          -                   v128 -> i32
0x54 v128.load8_lane        memarg:1,lane16     a v128 -> v128
0x55 v128.load16_lane       memarg:2,lane8      a v128 -> v128
0x56 v128.load32_lane       memarg:4,lane4      a v128 -> v128
0x57 v128.load64_lane       memarg:8,lane2      a v128 -> v128
0x58 v128.store8_lane       memarg:1,lane16     a v128 ->
0x59 v128.store16_lane      memarg:2,lane8      a v128 ->
0x5A v128.store32_lane      memarg:4,lane4      a v128 ->
0x5B v128.store64_lane      memarg:8,lane2      a v128 ->
0x5C v128.load32_zero       memarg:4            a -> v128
0x5D v128.load64_zero       memarg:8            a -> v128
0x5E f32x4.demote_f64x2_zero    -               v128 -> v128
0x5F f64x2.promote_low_f32x4    -               v128 -> v128
0x62 i8x16.popcnt           -                   v128 -> v128
0x63 i8x16.all_true         -                   v128 -> i32
0x64 i8x16.bitmask          -                   v128 -> i32
0x65 i8x16.narrow_i16x8_s   -                   v128 v128 -> v128
0x66 i8x16.narrow_i16x8_u   -                   v128 v128 -> v128
0x67 f32x4.ceil             -                   v128 -> v128
0x68 f32x4.floor            -                   v128 -> v128
0x69 f32x4.trunc            -                   v128 -> v128
0x6A f32x4.nearest          -                   v128 -> v128
0x6B i8x16.shl              -                   v128 i32 -> v128
0x6C i8x16.shr_s            -                   v128 i32 -> v128
0x6D i8x16.shr_u            -                   v128 i32 -> v128
0x74 f64x2.ceil             -                   v128 -> v128
0x75 f64x2.floor            -                   v128 -> v128
0x7A f64x2.trunc            -                   v128 -> v128
0x7C i16x8.extadd_pairwise_i8x16_s  -           v128 -> v128
0x7D i16x8.extadd_pairwise_i8x16_u  -           v128 -> v128
0x7E i32x4.extadd_pairwise_i16x8_s  -           v128 -> v128
0x7F i32x4.extadd_pairwise_i16x8_u  -           v128 -> v128
0x82 i16x8.q15mulr_sat_s    -                   v128 v128 -> v128
0x83 i16x8.all_true         -                   v128 -> i32
0x84 i16x8.bitmask          -                   v128 -> i32
0x85 i16x8.narrow_i32x4_s   -                   v128 v128 -> v128
0x86 i16x8.narrow_i32x4_u   -                   v128 v128 -> v128
0x87 i16x8.extend_low_i8x16_s   -               v128 -> v128
0x88 i16x8.extend_high_i8x16_s  -               v128 -> v128
0x89 i16x8.extend_low_i8x16_u   -               v128 -> v128
0x8A i16x8.extend_high_i8x16_u  -               v128 -> v128
0x8B i16x8.shl              -                   v128 i32 -> v128
0x8C i16x8.shr_s            -                   v128 i32 -> v128
0x8D i16x8.shr_u            -                   v128 i32 -> v128
0x94 f64x2.nearest          -                   v128 -> v128
0x95 i16x8.mul              -                   v128 v128 -> v128
0x9C i16x8.extmul_low_i8x16_s   -               v128 v128 -> v128
0x9D i16x8.extmul_high_i8x16_s  -               v128 v128 -> v128
0x9E i16x8.extmul_low_i8x16_u   -               v128 v128 -> v128
0x9F i16x8.extmul_high_i8x16_u  -               v128 v128 -> v128
0xA3 i32x4.all_true         -                   v128 -> i32
0xA4 i32x4.bitmask          -                   v128 -> i32
0xA7 i32x4.extend_low_i16x8_s   -               v128 -> v128
0xA8 i32x4.extend_high_i16x8_s  -               v128 -> v128
0xA9 i32x4.extend_low_i16x8_u   -               v128 -> v128
0xAA i32x4.extend_high_i16x8_u  -               v128 -> v128
0xAB i32x4.shl              -                   v128 i32 -> v128
0xAC i32x4.shr_s            -                   v128 i32 -> v128
0xAD i32x4.shr_u            -                   v128 i32 -> v128
0xB5 i32x4.mul              -                   v128 v128 -> v128
0xBA i32x4.dot_i16x8_s      -                   v128 v128 -> v128
0xBC i32x4.extmul_low_i16x8_s   -               v128 v128 -> v128
0xBD i32x4.extmul_high_i16x8_s  -               v128 v128 -> v128
0xBE i32x4.extmul_low_i16x8_u   -               v128 v128 -> v128
0xBF i32x4.extmul_high_i16x8_u  -               v128 v128 -> v128
0xC3 i64x2.all_true         -                   v128 -> i32
0xC4 i64x2.bitmask          -                   v128 -> i32
0xC7 i64x2.extend_low_i32x4_s   -               v128 -> v128
0xC8 i64x2.extend_high_i32x4_s  -               v128 -> v128
0xC9 i64x2.extend_low_i32x4_u   -               v128 -> v128
0xCA i64x2.extend_high_i32x4_u  -               v128 -> v128
0xCB i64x2.shl              -                   v128 i32 -> v128
0xCC i64x2.shr_s            -                   v128 i32 -> v128
0xCD i64x2.shr_u            -                   v128 i32 -> v128
0xD5 i64x2.mul              -                   v128 v128 -> v128
0xD6 i64x2.eq               -                   v128 v128 -> v128
0xD7 i64x2.ne               -                   v128 v128 -> v128
0xD8 i64x2.lt_s             -                   v128 v128 -> v128
0xD9 i64x2.gt_s             -                   v128 v128 -> v128
0xDA i64x2.le_s             -                   v128 v128 -> v128
0xDB i64x2.ge_s             -                   v128 v128 -> v128
0xDC i64x2.extmul_low_i32x4_s   -               v128 v128 -> v128
0xDD i64x2.extmul_high_i32x4_s  -               v128 v128 -> v128
0xDE i64x2.extmul_low_i32x4_u   -               v128 v128 -> v128
0xDF i64x2.extmul_high_i32x4_u  -               v128 v128 -> v128
0xEA f32x4.pmin             -                   v128 v128 -> v128
0xEB f32x4.pmax             -                   v128 v128 -> v128
0xF6 f64x2.pmin             -                   v128 v128 -> v128
0xF7 f64x2.pmax             -                   v128 v128 -> v128
0xF8 i32x4.trunc_sat_f32x4_s    -               v128 -> v128
0xF9 i32x4.trunc_sat_f32x4_u    -               v128 -> v128
0xFA f32x4.convert_i32x4_s      -               v128 -> v128
0xFB f32x4.convert_i32x4_u      -               v128 -> v128
0xFC i32x4.trunc_sat_f64x2_s_zero   -           v128 -> v128
0xFD i32x4.trunc_sat_f64x2_u_zero   -           v128 -> v128
0xFE f64x2.convert_low_i32x4_s  -               v128 -> v128
0xFF f64x2.convert_low_i32x4_u  -               v128 -> v128

@relaxed_simd 0xFD
0x100 i8x16.relaxed_swizzle             -       v128 v128 -> v128
0x101 i32x4.relaxed_trunc_f32x4_s       -       v128 -> v128
0x102 i32x4.relaxed_trunc_f32x4_u       -       v128 -> v128
0x103 i32x4.relaxed_trunc_f64x2_s_zero  -       v128 -> v128
0x104 i32x4.relaxed_trunc_f64x2_u_zero  -       v128 -> v128
0x105 f32x4.relaxed_madd                -       v128 v128 v128 -> v128
0x106 f32x4.relaxed_nmadd               -       v128 v128 v128 -> v128
0x107 f64x2.relaxed_madd                -       v128 v128 v128 -> v128
0x108 f64x2.relaxed_nmadd               -       v128 v128 v128 -> v128
0x109 i8x16.relaxed_laneselect          -       v128 v128 v128 -> v128
0x10A i16x8.relaxed_laneselect          -       v128 v128 v128 -> v128
0x10B i32x4.relaxed_laneselect          -       v128 v128 v128 -> v128
0x10C i64x2.relaxed_laneselect          -       v128 v128 v128 -> v128
0x10D f32x4.relaxed_min                 -       v128 v128 -> v128
0x10E f32x4.relaxed_max                 -       v128 v128 -> v128
0x10F f64x2.relaxed_min                 -       v128 v128 -> v128
0x110 f64x2.relaxed_max                 -       v128 v128 -> v128
0x111 i16x8.relaxed_q15mulr_s           -       v128 v128 -> v128
0x112 i16x8.relaxed_dot_i8x16_i7x16_s   -       v128 v128 -> v128
0x113 i32x4.relaxed_dot_i8x16_i7x16_add_s  -    v128 v128 v128 -> v128

@threads 0xFE
0x00 memory.atomic.notify   memarg:4            a i32 -> i32
0x01 memory.atomic.wait32   memarg:4            a i32 i64 -> i32
0x02 memory.atomic.wait64   memarg:8            a i64 i64 -> i32
0x03 atomic.fence           zero                ->
"""

# SIMD rows that follow regular patterns, generated rather than typed out.
# (shape, first opcode) for the ten comparisons eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u.
_SIMD_INT_CMP = (("i8x16", 0x23), ("i16x8", 0x2D), ("i32x4", 0x37))
_SIMD_FLOAT_CMP = (("f32x4", 0x41), ("f64x2", 0x47))
_INT_CMPS = ("eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u")
_FLOAT_CMPS = ("eq", "ne", "lt", "gt", "le", "ge")
# Integer lane arithmetic: name -> opcode per shape (i8x16, i16x8, i32x4, i64x2); None: absent.
_SIMD_INT_ARITH = {
    "abs": (0x60, 0x80, 0xA0, 0xC0, 1),
    "neg": (0x61, 0x81, 0xA1, 0xC1, 1),
    "add": (0x6E, 0x8E, 0xAE, 0xCE, 2),
    "add_sat_s": (0x6F, 0x8F, None, None, 2),
    "add_sat_u": (0x70, 0x90, None, None, 2),
    "sub": (0x71, 0x91, 0xB1, 0xD1, 2),
    "sub_sat_s": (0x72, 0x92, None, None, 2),
    "sub_sat_u": (0x73, 0x93, None, None, 2),
    "min_s": (0x76, 0x96, 0xB6, None, 2),
    "min_u": (0x77, 0x97, 0xB7, None, 2),
    "max_s": (0x78, 0x98, 0xB8, None, 2),
    "max_u": (0x79, 0x99, 0xB9, None, 2),
    "avgr_u": (0x7B, 0x9B, None, None, 2),
}
# Float lane arithmetic: name -> (f32x4 opcode, f64x2 opcode, arity).
_SIMD_FLOAT_ARITH = {
    "abs": (0xE0, 0xEC, 1), "neg": (0xE1, 0xED, 1), "sqrt": (0xE3, 0xEF, 1),
    "add": (0xE4, 0xF0, 2), "sub": (0xE5, 0xF1, 2), "mul": (0xE6, 0xF2, 2),
    "div": (0xE7, 0xF3, 2), "min": (0xE8, 0xF4, 2), "max": (0xE9, 0xF5, 2),
}
# Atomic read-modify-write families: (name, first opcode); seven widths each.
_ATOMIC_RMW = (("add", 0x1E), ("sub", 0x25), ("and", 0x2C), ("or", 0x33), ("xor", 0x3A),
               ("xchg", 0x41), ("cmpxchg", 0x48))
_ATOMIC_WIDTHS = (  # (type, infix, suffix, bytes) in opcode order
    ("i32", "", "", 4), ("i64", "", "", 8), ("i32", "8", "_u", 1), ("i32", "16", "_u", 2),
    ("i64", "8", "_u", 1), ("i64", "16", "_u", 2), ("i64", "32", "_u", 4),
)
_ATOMIC_LOADS = (  # (name, opcode, type, bytes)
    ("i32.atomic.load", 0x10, "i32", 4), ("i64.atomic.load", 0x11, "i64", 8),
    ("i32.atomic.load8_u", 0x12, "i32", 1), ("i32.atomic.load16_u", 0x13, "i32", 2),
    ("i64.atomic.load8_u", 0x14, "i64", 1), ("i64.atomic.load16_u", 0x15, "i64", 2),
    ("i64.atomic.load32_u", 0x16, "i64", 4),
)


def _generated_rows() -> list[tuple]:
    """(proposal, prefix, code, name, imms, params, results, width, atomic) rows."""
    rows = []
    v = "v128"
    for shape, first in _SIMD_INT_CMP:
        for i, cmp in enumerate(_INT_CMPS):
            rows.append(("simd", 0xFD, first + i, f"{shape}.{cmp}", (), (v, v), (v,), 0, False))
    for shape, first in _SIMD_FLOAT_CMP:
        for i, cmp in enumerate(_FLOAT_CMPS):
            rows.append(("simd", 0xFD, first + i, f"{shape}.{cmp}", (), (v, v), (v,), 0, False))
    for op, (*codes, arity) in _SIMD_INT_ARITH.items():
        for shape, code in zip(("i8x16", "i16x8", "i32x4", "i64x2"), codes):
            if code is not None:
                rows.append(("simd", 0xFD, code, f"{shape}.{op}", (), (v,) * arity, (v,), 0, False))
    for op, (c32, c64, arity) in _SIMD_FLOAT_ARITH.items():
        rows.append(("simd", 0xFD, c32, f"f32x4.{op}", (), (v,) * arity, (v,), 0, False))
        rows.append(("simd", 0xFD, c64, f"f64x2.{op}", (), (v,) * arity, (v,), 0, False))
    for name, code, t, width in _ATOMIC_LOADS:
        rows.append(("threads", 0xFE, code, name, ("memarg",), ("a",), (t,), width, True))
    for i, (t, infix, _suffix, width) in enumerate(_ATOMIC_WIDTHS):
        name = f"{t}.atomic.store{infix}"
        rows.append(("threads", 0xFE, 0x17 + i, name, ("memarg",), ("a", t), (), width, True))
    for op, first in _ATOMIC_RMW:
        for i, (t, infix, suffix, width) in enumerate(_ATOMIC_WIDTHS):
            name = f"{t}.atomic.rmw{infix}.{op}{suffix}"
            params = ("a", t, t) if op == "cmpxchg" else ("a", t)
            rows.append(("threads", 0xFE, first + i, name, ("memarg",), params, (t,), width, True))
    return rows


def _parse_table(text: str) -> list[Opcode]:
    rows = []
    proposal, prefix = "mvp", None
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("@"):
            proposal, pfx = line[1:].split()
            prefix = None if pfx == "-" else int(pfx, 16)
            continue
        code, name, imms_text, sig = line.split(None, 3)
        imms, width = [], 0
        if imms_text != "-":
            for imm in imms_text.split(","):
                if imm.startswith("memarg:"):
                    imm, width = "memarg", int(imm.split(":")[1])
                imms.append(imm)
        if sig == "custom":
            params = results = None
        else:
            lhs, rhs = sig.split("->")
            params, results = tuple(lhs.split()), tuple(rhs.split())
        atomic = prefix == PREFIX_ATOMIC and "memarg" in imms
        rows.append(Opcode(name, prefix, int(code, 16), tuple(imms), params, results,
                           proposal, width, atomic))
    for proposal, prefix, code, name, imms, params, results, width, atomic in _generated_rows():
        rows.append(Opcode(name, prefix, code, imms, params, results, proposal, width, atomic))
    return rows


def _check_unique(rows: list[Opcode]) -> None:
    names, codes = set(), set()
    for row in rows:
        key = (row.prefix, row.code)
        if row.name in names or key in codes:
            raise AssertionError(f"opcode table: duplicate row {row.name} {key}")
        names.add(row.name)
        codes.add(key)


OPCODES: tuple[Opcode, ...] = tuple(_parse_table(_TABLE))
_check_unique(list(OPCODES))

BY_NAME: dict[str, Opcode] = {op.name: op for op in OPCODES}
# Dispatch arrays: SINGLE[byte] for one-byte opcodes, PREFIXED[prefix][code] for the rest.
SINGLE: list[Opcode | None] = [None] * 256
PREFIXED: dict[int, dict[int, Opcode]] = {p: {} for p in PREFIXES}
for _op in OPCODES:
    if _op.prefix is None:
        SINGLE[_op.code] = _op
    else:
        PREFIXED[_op.prefix][_op.code] = _op
del _op

PROPOSALS = tuple(dict.fromkeys(op.proposal for op in OPCODES))
