"""The diff farm's own parts: preset flags smith accepts, the comparator finding a
difference, the known-bug classifier, shrink signatures, a hung worker killed and
replaced (tools/diff_farm)."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest

from tools.diff_farm import farm, harness, known, shrink
from tools.diff_farm.configs import DEFAULT_CONFIGS, PRESETS, merge_flags
from tools.diff_farm.harness import Case, Result, Variant


def _wasm(text: str, tmp_path: Path) -> Path:
    path = tmp_path / "m.wasm"
    subprocess.run([harness.wasm_tools(), "parse", "-", "-o", str(path)], input=text.encode(),
                   check=True)
    return path


def test_merge_flags_names_each_flag_once_and_the_later_value_wins():
    merged = merge_flags(["--ensure-termination", "--a", "1", "--b", "2"],
                         ["--a", "3", "--ensure-termination"])
    assert merged == ["--b", "2", "--a", "3", "--ensure-termination"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_smith_accepts_every_presets_flags(name):
    """A flag smith refuses would make every case of the preset `nomodule`."""
    preset = PRESETS[name]
    for seed in range(3):
        flags = preset.smith_flags(seed, str(harness.host_imports_path()))
        data = random.Random(seed).randbytes(4000)
        proc = subprocess.run([harness.wasm_tools(), "smith", *flags], input=data,
                              capture_output=True, check=False)
        assert b"Usage:" not in proc.stderr, proc.stderr.decode()


def test_variant_names_round_trip():
    for name in ("x86_64-O0", "x86_64-O2", "aarch64-O2", "x86_64-O2-explicit", "x86_64-O0-exe",
                 "x86_64-O2-explicit-exe"):
        assert Variant.parse(name).name == name
    for bad in ("x86_64-O9", "x86_64-O2-exe-explicit", "x86_64-O2-exe-exe", "x86_64-O2-native"):
        with pytest.raises(ValueError):
            Variant.parse(bad)
    assert Variant.parse("x86_64-O2").in_process and not Variant.parse("x86_64-O2-exe").in_process


class _LyingSide:
    """A side that agrees with the reference except for one memory byte after call 0."""

    caps = harness.ALL_CAPS

    def __init__(self, trace):
        self.trace, self.calls = trace, 0

    def refuel(self):
        pass

    def call(self, name, args):
        self.calls += 1
        outcome = self.trace.outcomes[self.calls - 1]
        if outcome[0] == "trap":
            raise harness.Trapped(outcome[1])
        return outcome[1]

    def state(self, full):
        state = dict(self.trace.states[self.calls])
        if self.calls:
            state["m"] = ["memory", state["m"][1], state["m"][2] ^ 1]
        return state


def test_the_comparator_reports_a_memory_difference_after_a_call(tmp_path):
    wasm = _wasm('(module (memory (export "m") 1 1) (func (export "f") (result i32) '
                 '(i32.store (i32.const 0) (i32.const 7)) (i32.const 1)))', tmp_path).read_bytes()
    exports, typed = harness.exports_of(wasm)
    plan = harness.call_plan(Case("base", 0), exports)
    trace = harness.reference_trace(wasm, exports, plan, typed)
    r = harness._compare_calls(Result("fake"), _LyingSide(trace), harness.ALL_CAPS,
                               ("ok", None), exports, plan, trace)
    assert r.status == "mismatch" and r.reason.startswith("after call 0 f([]): memory 'm'")
    assert shrink.signature(r) == "mismatch state: memory"


def test_a_failing_variant_is_classified_by_a_registered_known_bug(monkeypatch):
    bug = known.KnownBug("wrap", "a test entry", lambda r, wat, others: "offset=" in wat)
    monkeypatch.setattr(known, "KNOWN", (bug,))
    wat = "(module (memory i64 1) (func (result i64) i64.const 16 i64.load offset=8))"
    assert known.classify(Result("x86_64-O2", "mismatch", "differs"), wat) == "wrap"
    assert known.classify(Result("x86_64-O2", "mismatch", "differs"), "(module)") == ""
    assert known.classify(Result("x86_64-O2", "ok"), wat) == ""  # not a failure


def test_shrink_signature_ignores_values_and_export_names():
    def result(name, value):
        return Result("x86_64-O0", "mismatch", f"call 3 {name}([1]): ...",
                      log=[[{}, ["trap", "integer divide by zero"], ["ok", [value]]]])

    assert shrink.signature(result("a", 1)) == shrink.signature(result("b", 99))


def test_a_hung_case_is_killed_recorded_and_the_worker_replaced(tmp_path):
    """No fuel: wasmtime (the reference) loops forever in the call."""
    spin = _wasm('(module (func (export "f") (loop (br 0))))', tmp_path)
    fc = farm.FarmConfig(("base",), ("x86_64-O0",), 0.0, timeout=5.0, out=tmp_path)
    w = farm.Worker(0, fc)
    try:
        hung = w.run(Case("base", 1), ["x86_64-O0"], wasm=spin)
        assert [(r.variant, r.status) for r in hung.results] == [("wasmtime", "hang")]
        ok = w.run(Case("base", 2), ["x86_64-O0"])
        assert ok.status in ("ok", "skipped", "nomodule"), ok
    finally:
        w.close()


def test_an_aarch64_executable_reports_memory_tables_and_globals_as_wasmtime(tmp_path):
    """The test executable's `set`, `memory` (CRC-32) and `table` requests: a module
    that writes memory, a table and a global agrees with wasmtime under qemu."""
    wasm = _wasm('''(module
      (memory (export "m") 1 2) (data (i32.const 3) "abc")
      (table (export "t") 4 funcref) (elem declare func $f)
      (global (export "g") (mut i64) (i64.const -5))
      (func $f (export "f") (param i32) (result i32)
        (i32.store8 (local.get 0) (i32.const 200))
        (table.set (i32.const 1) (ref.func $f))
        (global.set 0 (i64.extend_i32_s (local.get 0)))
        (drop (memory.grow (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 0))))''', tmp_path).read_bytes()
    report = harness.run_case(Case("no-imports", 4), [Variant.parse("aarch64-O0")], wasm,
                              tmp_path)
    assert [(r.status, r.reason) for r in report.results] == [("ok", "")]
    assert report.results[0].calls == 4 and report.results[0].returned >= 1


# --- the executable variants: the module compiled as an executable's ---------------------


def test_an_exe_variant_runs_a_smith_case_natively_and_agrees(tmp_path):
    """no-imports seed 4: a memory and a table, 19 of 24 calls return, the others trap
    (`unreachable`, and a guard-page fault that must siglongjmp through `nounwind`
    frames).  Natively the memory is compared after every call."""
    for name in farm.EXE_VARIANTS:
        variant = Variant.parse(name)
        assert harness.MEMORY_ALWAYS in harness.side_caps(variant)
        report = harness.run_case(Case("no-imports", 4), [variant], workdir=tmp_path)
        (r,) = report.results
        assert (r.variant, r.status, r.reason) == (name, "ok", "")
        assert r.calls == 24 and r.returned == 19 and r.traps


SEVEN_ARGS = """(module
  (type $seven (func (param i32 i64 i32 i64 i32 i64 i32) (result i64)))
  (memory (export "m") 1 1)
  (table 1 funcref) (elem (i32.const 0) $sum)
  (func $sum (export "sum") (type $seven)
    (i64.store (i32.const 8) (local.get 5))
    (i64.add (i64.add (i64.add (i64.extend_i32_u (local.get 0)) (local.get 1))
                      (i64.add (i64.extend_i32_s (local.get 2)) (local.get 3)))
             (i64.add (i64.add (i64.extend_i32_u (local.get 4)) (local.get 5))
                      (i64.mul (i64.extend_i32_s (local.get 6)) (i64.const 3)))))
  (func (export "go") (param i32 i64) (result i64)
    (call_indirect (type $seven) (local.get 0) (local.get 1) (i32.const -7) (i64.const 9)
                   (i32.const 11) (local.get 1) (local.get 0) (i32.const 0))))"""


@pytest.mark.parametrize("name", farm.EXE_VARIANTS)
def test_an_exe_variant_compiles_its_module_as_an_executables(name, tmp_path, monkeypatch):
    """Executable mode (CodegenOptions.standalone) is what the variant is for: the IR
    LLVM gets has `fastcc` records (here a call_indirect and entry thunks with
    arguments on the stack, which a tailcc callee would pop) and `nounwind` functions
    (no tags).  The calls agree with wasmtime."""
    from wasmaot.driver import llvm

    irs = []
    real = llvm.compile_ir
    monkeypatch.setattr(llvm, "compile_ir", lambda ir, *a, **k: irs.append(ir) or real(ir, *a, **k))
    wasm = _wasm(SEVEN_ARGS, tmp_path).read_bytes()
    report = harness.run_case(Case("no-imports", 2), [Variant.parse(name)], wasm, tmp_path)
    assert [(r.status, r.reason) for r in report.results] == [("ok", "")]
    assert report.results[0].returned == 8
    ir = "".join(irs)
    assert re.search(r"notail call fastcc i64 %t\d+\(ptr (?:swiftself )?%\w+, i32 %p0, i64 %p1, i32 -7,", ir)
    assert re.search(r"notail call fastcc i64 %code\(ptr (?:swiftself )?%ctx(, i(32|64) %a\d){7}\)", ir)  # thunk
    assert "tailcc" not in ir
    assert re.search(r"attributes #0 = \{[^}]*\bnounwind\b", ir)


def test_a_script_of_two_modules_is_never_built_standalone(tmp_path):
    """Modules of one executable call each other's records; fastcc records are only
    for a module alone in its process."""
    from wasmaot.commands.wast_remote import TestExecutable

    script = {"commands": [{"type": "module", "filename": "a.wasm"},
                           {"type": "assert_trap", "filename": "b.wasm"}]}
    with pytest.raises(AssertionError, match="one module, not 2"):
        TestExecutable.build(script, tmp_path, "x86_64-linux", 2, standalone=True)


@pytest.mark.parametrize("extra", ["exe", "aarch64"])
def test_executable_variants_go_to_cases_without_imports_at_both_levels_in_every_preset(
        tmp_path, extra):
    """A case runs on an exe or aarch64 variant only if its module cannot import (a
    test executable has no host); the level is drawn per case, not tied to the seed's
    parity (which a run's even number of presets would tie to the preset)."""
    names = farm.EXE_VARIANTS if extra == "exe" else farm.AARCH64_VARIANTS
    shares = {"exe_share": 0.5} if extra == "exe" else {}
    fc = farm.FarmConfig(DEFAULT_CONFIGS, farm.DEFAULT_VARIANTS, 0.5 if extra == "aarch64" else 0.0,
                         timeout=1.0, out=tmp_path, **shares)
    levels: dict = {c: set() for c in DEFAULT_CONFIGS}
    cases = farm.cases_of(1000, 40 * len(DEFAULT_CONFIGS), DEFAULT_CONFIGS)
    for case in cases:
        chosen = [v for v in farm.variants_of(case, fc) if v in names]
        assert not chosen or not PRESETS[case.config].may_import(case.seed)
        levels[case.config].update(chosen)
    assert all(v == set(names) for v in levels.values()), levels
    chosen = sum(1 for c in cases if set(farm.variants_of(c, fc)) & set(names))
    assert 0.4 * len(cases) < chosen < 0.6 * len(cases)
    none = farm.FarmConfig(DEFAULT_CONFIGS, farm.DEFAULT_VARIANTS, 0.0, 1.0, tmp_path)
    assert not any(set(farm.variants_of(c, none)) & set(names) for c in cases)


def test_the_farm_reads_two_lines_a_worker_wrote_at_once(tmp_path):
    """A skipped variant's progress line and the report come in one chunk; waiting
    on the pipe for the second line made a hang of a case that had ended."""
    import selectors
    import signal

    fc = farm.FarmConfig(("base",), ("x86_64-O0",), 0.0, timeout=5.0, out=tmp_path)
    w = farm.Worker(0, fc)
    w.proc = subprocess.Popen(["sh", "-c", "printf 'a\\nb\\n'; sleep 30"], stdout=subprocess.PIPE,
                              start_new_session=True)
    w.sel = selectors.DefaultSelector()
    w.sel.register(w.proc.stdout, selectors.EVENT_READ)
    w.buffer = b""
    try:
        assert [w._readline(5.0), w._readline(5.0)] == [b"a", b"b"]
    finally:
        import os

        os.killpg(w.proc.pid, signal.SIGKILL)
        w.proc.wait()
        w.proc.stdout.close()


@pytest.mark.parametrize("variant", ["x86_64-O0", "aarch64-O0"])
def test_every_side_leaves_out_typed_reference_globals_and_table_elements(variant, tmp_path):
    """wasmtime-py cannot read a typed reference, so the reference's state has no value
    for such a global and no elements for such a table; a side that reported them
    made a false mismatch (found on aarch64 by the farm, twice).  In such a module a
    funcref's type is not described either (it could have a typed parameter): funcref
    table elements are compared as null or not (a false mismatch on x86_64)."""
    wasm = _wasm('''(module
      (type $t (func (result i32)))
      (type $u (func (param (ref null $t))))
      (func $f (type $t) (i32.const 1))
      (func $h (type $u))
      (elem declare func $f $h)
      (global (export "g") (ref null $t) (ref.func $f))
      (table (export "t") 2 (ref null $t) (ref.func $f))
      (table (export "p") 2 funcref (ref.func $h))
      (func (export "call") (result i32) (call_ref $t (global.get 0))))''', tmp_path).read_bytes()
    report = harness.run_case(Case("no-imports", 5), [Variant.parse(variant)], wasm, tmp_path)
    assert [(r.status, r.reason) for r in report.results] == [("ok", "")]


# --- SIMD (issue 9) ---------------------------------------------------------------------

V128_MODULE = '''(module
  (global $g (export "g") (mut v128) (v128.const i64x2 -1 0x7ff8000000000000))
  (table (export "t") 1 funcref) (elem (i32.const 0) func $add)
  (func $add (export "add") (param v128) (result v128)
    (global.set $g (local.get 0))
    (i32x4.add (local.get 0) (v128.const i32x4 1 2 3 -4)))
  (func (export "lanes") (param v128 i32) (result i64 v128)
    (i64x2.extract_lane 1 (local.get 0))
    (i8x16.replace_lane 15 (local.get 0) (local.get 1))))'''


def _lanes32(*lanes) -> int:
    return sum((v & 0xFFFFFFFF) << (32 * i) for i, v in enumerate(lanes))


@pytest.mark.parametrize("side", ["wasmtime", "x86_64-O0", "aarch64-O0"])
def test_every_side_passes_and_returns_v128_as_an_int_with_lane_0_low(side, tmp_path):
    """wasmtime-py has no v128 (the farm calls wasmtime's C API itself:
    wasmtime_raw.py); wasmaot's API and its test executables take and give ints.  A
    lane order or sign mistake on any side would show in these exact values."""
    wasm = _wasm(V128_MODULE, tmp_path).read_bytes()
    exports, _ = harness.exports_of(wasm)
    if side == "wasmtime":
        s = harness.WasmtimeSide(wasm, exports, False)
    else:
        s = harness.make_side(wasm, exports, Variant.parse(side), tmp_path)
    try:
        assert s.state(True)["g"] == ["global", (1 << 64) - 1 | 0x7FF8000000000000 << 64]
        arg = _lanes32(10, -1, 0x7FFFFFFF, 7)
        assert s.call("add", [arg]) == [_lanes32(11, 1, -0x7FFFFFFE, 3)]
        assert s.state(True)["g"] == ["global", arg]
        assert s.call("lanes", [arg, 0x1FF]) == [7 << 32 | 0x7FFFFFFF,
                                                  arg & ~(0xFF << 120) | 0xFF << 120]
    finally:
        if hasattr(s, "close"):
            s.close()


def test_a_v128_result_differing_in_one_bit_is_a_mismatch(tmp_path):
    wasm = _wasm(V128_MODULE, tmp_path).read_bytes()
    exports, typed = harness.exports_of(wasm)
    plan = [{"export": "add", "args": [5]}]
    trace = harness.reference_trace(wasm, exports, plan, typed)
    lying = _LyingSide(trace)
    lying.state = lambda full: dict(trace.states[lying.calls])
    trace.outcomes[0] = ("ok", [trace.outcomes[0][1][0] ^ (1 << 127)])
    real = harness.reference_trace(wasm, exports, plan, typed)
    r = harness._compare_calls(Result("fake"), lying, harness.ALL_CAPS, ("ok", None),
                               exports, plan, real)
    assert r.status == "mismatch" and r.reason.startswith("call 0 add")


def test_random_v128_arguments_have_nan_lanes_and_signed_extremes():
    rng = random.Random(0)
    values = [harness.random_v128(rng) for _ in range(3000)]
    lanes = {bits: {(v >> (bits * i)) & ((1 << bits) - 1) for v in values
                    for i in range(128 // bits)} for bits in (8, 16, 32, 64)}
    assert {0x80, 0x7F, 0xFF} <= lanes[8] and {0x8000, 0x7FFF} <= lanes[16]
    assert {0x7FC00000, 0xFFC00000, 0x7FA00000, 0x80000000, 0x7F800000} <= lanes[32]
    assert {0x7FF8000000000000, 0x7FF4000000000000, 0x8000000000000000} <= lanes[64]
    assert all(0 <= v < 1 << 128 for v in values) and max(values) >= 1 << 127


# a * b + c in f32 lanes where the fused result (2^-46) and the unfused one (0) differ:
# a = b = 1 + 2^-23, c = -(1 + 2^-22).
MADD = '''(module (func (export "madd") (result v128)
  (f32x4.relaxed_madd (v128.const i32x4 0x3f800001 0x3f800001 0 0)
                      (v128.const i32x4 0x3f800001 0x3f800001 0 0)
                      (v128.const i32x4 0xbf800002 0xbf800002 0 0))))'''
FUSED, UNFUSED = _lanes32(0x28800000, 0x28800000, 0, 0), 0


def test_wasmtime_configurations_give_the_fused_and_the_unfused_relaxed_madd(tmp_path):
    """The set relaxed results are judged against (harness.RELAXED_PROFILES) holds both
    of the spec's madd results, whatever the host's FMA."""
    wasm = _wasm(MADD, tmp_path).read_bytes()
    exports, typed = harness.exports_of(wasm)
    plan = [{"export": "madd", "args": []}]
    got = {e: harness.reference_trace(wasm, exports, plan, typed, e).outcomes[0]
           for e in ("deterministic", "no-fma")}
    assert got == {"deterministic": ("ok", [FUSED]), "no-fma": ("ok", [UNFUSED])}


@pytest.mark.parametrize("variant", ["x86_64-O2", "aarch64-O2"])
def test_a_relaxed_madd_result_the_spec_allows_is_not_a_mismatch(variant, tmp_path):
    """wasmaot fuses where the target CPU level has FMA (aarch64; not x86-64's
    baseline); wasmtime where the host has it.  Either is allowed: the case agrees
    directly or through one of wasmtime's other configurations ("relaxed")."""
    wasm = _wasm(MADD, tmp_path).read_bytes()
    report = harness.run_case(Case("no-imports", 1), [Variant.parse(variant)], wasm, tmp_path)
    (r,) = report.results
    assert r.status in ("ok", "relaxed") and r.calls == 4, r
    native = harness.reference_trace(wasm, *harness.exports_of(wasm)[:1],
                                     [{"export": "madd", "args": []}], False).outcomes[0]
    assert (r.status == "relaxed") == (native == ("ok", [FUSED]) and variant == "x86_64-O2")


def test_a_relaxed_result_no_wasmtime_configuration_gives_stays_a_mismatch(monkeypatch,
                                                                           tmp_path):
    wasm = _wasm(MADD, tmp_path).read_bytes()

    class Off(harness.WasmtimeSide):  # the deterministic answer with one more bit
        def __init__(self, wasm, exports, variant, workdir):
            super().__init__(wasm, exports, False, "deterministic")

        def call(self, name, args):
            return [v ^ 1 for v in super().call(name, args)]

    monkeypatch.setattr(harness, "make_side", Off)
    report = harness.run_case(Case("no-imports", 1), [Variant()], wasm, tmp_path)
    (r,) = report.results
    assert r.status == "mismatch" and "no wasmtime configuration agrees" in r.reason


def test_only_a_module_with_relaxed_instructions_is_judged_by_the_relaxed_rule(tmp_path):
    assert harness.uses_relaxed_simd(_wasm(MADD, tmp_path).read_bytes())
    assert not harness.uses_relaxed_simd(_wasm(V128_MODULE, tmp_path).read_bytes())


# madd (fused and unfused differ) and relaxed_swizzle (index 17: 0 by the deterministic
# choice, lane 1 by x86's pshufb) in one run: wasmaot x86-64 baseline gives unfused madd
# with the deterministic swizzle, a mix no engine setting makes.
MIXED = '''(module (func (export "mixed") (result v128 v128)
  (f32x4.relaxed_madd (v128.const i32x4 0x3f800001 0x3f800001 0 0)
                      (v128.const i32x4 0x3f800001 0x3f800001 0 0)
                      (v128.const i32x4 0xbf800002 0xbf800002 0 0))
  (i8x16.relaxed_swizzle (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                         (v128.const i8x16 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0))))'''


def test_unfused_madd_rewrites_every_madd_and_keeps_the_rest(tmp_path):
    wasm = _wasm(MIXED, tmp_path).read_bytes()
    rewritten = harness.unfused_madd(wasm)
    text = known.module_text(rewritten)
    assert "relaxed_madd" not in text and "i8x16.relaxed_swizzle" in text
    exports, typed = harness.exports_of(rewritten)
    trace = harness.reference_trace(rewritten, exports, [{"export": "mixed", "args": []}],
                                    typed, "deterministic")
    assert trace.outcomes[0] == ("ok", [UNFUSED, 0])  # swizzle index 17: 0


@pytest.mark.parametrize("variant", ["x86_64-O2", "aarch64-O2"])
def test_wasmaots_mix_of_relaxed_choices_is_allowed(variant, tmp_path):
    wasm = _wasm(MIXED, tmp_path).read_bytes()
    report = harness.run_case(Case("no-imports", 1), [Variant.parse(variant)], wasm, tmp_path)
    (r,) = report.results
    assert r.status in ("ok", "relaxed"), r.reason


def test_unexport_tables_drops_the_table_exports_and_keeps_the_others(tmp_path):
    wasm = _wasm("""(module (table (export "t1") 1 funcref) (table (export "t2") 2 funcref)
      (memory (export "m") 1) (func $f (export "f")) (global (export "g") i32 (i32.const 7)))""",
                 tmp_path).read_bytes()
    out = harness.unexport_tables(wasm)
    text = subprocess.run([harness.wasm_tools(), "print", "-"], input=out, capture_output=True,
                          check=True).stdout.decode()
    exports = [line.split('"')[1] for line in text.splitlines() if line.strip().startswith("(export")]
    assert exports == ["m", "f", "g"]
    assert subprocess.run([harness.wasm_tools(), "validate", "-"], input=out,
                          check=False).returncode == 0


def test_the_sealed_tables_preset_makes_tables_no_one_else_reaches():
    seen = 0
    for seed in range(6):
        wasm = harness.smith_module(Case("sealed-tables", seed))
        text = subprocess.run([harness.wasm_tools(), "print", "-"], input=wasm,
                              capture_output=True, check=True).stdout.decode()
        assert "(table" in text
        assert not any("(table" in line for line in text.splitlines() if "(export" in line)
        seen += "call_indirect" in text
    assert seen  # some of them call through their tables
