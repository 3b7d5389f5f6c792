"""The differential farm and exception handling (issue 10).

What the farm compares for exceptions (tools/diff_farm/harness.py): a call's outcome
is its results, a trap, a host error or an *escaping exception* ("exception", [tag,
payload]), the tag named by its export (`export_tags` exports every tag of a smith
module) and the payload as bits; exnref results, globals and table elements as null
or not.  These tests pin that on a hand-written module on every side, that the
comparator flags an exception where the reference trapped (and a wrong tag or
payload), and run a small slice of the exception presets (`EXCEPTION_CONFIGS`), which
must agree with wasmtime.  `WASMAOT_DIFF_EH_SCALE` changes the slice's size.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tools.diff_farm import farm, harness, shrink
from tools.diff_farm.configs import EXCEPTION_CONFIGS
from tools.diff_farm.harness import Case, Result, Variant

EH_MODULE = """(module
  (tag $t (export "t") (param i32 f32 i64))
  (tag $u (export "u"))
  (global (export "g") (mut exnref) (ref.null exn))
  (table (export "tb") 2 exnref)
  (func $thr (export "thr") (param i32) (throw $t (local.get 0) (f32.const -nan:0x1) (i64.const -3)))
  (func (export "thru") (throw $u))
  (func $catch (export "catch") (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $thr (i32.const 9)))
      (ref.null exn)))
  (func (export "keep") (param exnref) (result exnref)
    (global.set 0 (call $catch)) (table.set 0 (i32.const 1) (global.get 0)) (local.get 0))
  (func (export "caught") (result i32 i64) (local $l i64)
    (block $h (result i32 f32 i64)
      (try_table (catch $t $h) (call $thr (i32.const -5)))
      (unreachable))
    (local.set $l) (drop) (local.get $l))
  (func (export "trap") unreachable))"""


def _wasm(text: str, tmp_path: Path) -> bytes:
    return subprocess.run([harness.wasm_tools(), "parse", "-"], input=text.encode(),
                          capture_output=True, check=True).stdout


def _side(name: str, wasm: bytes, exports, tmp_path: Path):
    if name == "wasmtime":
        return harness.WasmtimeSide(wasm, exports, False)
    return harness.make_side(wasm, exports, Variant.parse(name), tmp_path)


def _outcome(side, export: str, args=()):
    return harness._outcome(side, {"export": export, "args": list(args)})


@pytest.mark.parametrize("name", ["wasmtime", "x86_64-O0", "x86_64-O2", "aarch64-O0"])
def test_every_side_reports_an_escaping_exception_apart_from_a_trap(name, tmp_path):
    """An uncaught exception is its own outcome on every side, with its tag (by export
    name) and payload where the side can see them (not in a test executable, which
    reports only status 14); exnrefs cross the boundary as null or not."""
    wasm = _wasm(EH_MODULE, tmp_path)
    exports, _ = harness.exports_of(wasm)
    side = _side(name, wasm, exports, tmp_path)
    try:
        payload = ["t", [["i32", 7], ["f32", 0xFFC00001], ["i64", -3]]]
        got = _outcome(side, "thr", [7])
        if harness.EXCEPTION_PAYLOAD in side.caps:
            assert got[0] == "exception" and got[1][0] == "t"
            assert harness.same_outcome((), ("exception", payload), got)
            assert _outcome(side, "thru") == ("exception", ["u", []])
        else:
            assert got == ("exception", None)
            assert _outcome(side, "thru") == ("exception", None)
        assert _outcome(side, "trap") == ("trap", "wasm `unreachable` instruction executed")
        assert _outcome(side, "catch") == ("ok", ["ref"])
        assert _outcome(side, "caught") == ("ok", [-5, -3])
        assert side.state(True)["g"] == ["global", None]
        assert _outcome(side, "keep", [None]) == ("ok", [None])
        state = side.state(True)
        assert state["g"] == ["global", "ref"]
        assert state["tb"][1] == 2 and state["tb"][2] in ([None, "ref"], [None, 1])
        # after an escaping exception the store holds none (wasmtime keeps it in the
        # store until it is taken): the next calls run as usual
        assert _outcome(side, "catch") == ("ok", ["ref"])
    finally:
        if hasattr(side, "close"):
            side.close()


def _compare(wasm: bytes, plan: list, lie) -> Result:
    """The comparator on a side that gives the reference's outcomes except where `lie`
    (call index -> outcome) says."""
    exports, typed = harness.exports_of(wasm)
    trace = harness.reference_trace(wasm, exports, plan, typed)

    class Lying:
        caps = harness.ALL_CAPS
        calls = 0

        def refuel(self):
            pass

        def call(self, export, args):
            i, Lying.calls = Lying.calls, Lying.calls + 1
            kind, value = lie.get(i, trace.outcomes[i])
            if kind == "trap":
                raise harness.Trapped(value)
            if kind == "exception":
                raise harness.Thrown(value)
            return value

        def state(self, full):
            return trace.states[Lying.calls]

    return harness._compare_calls(Result("fake"), Lying(), harness.ALL_CAPS, ("ok", None),
                                  exports, plan, trace)


def test_the_comparator_flags_an_exception_where_wasmtime_trapped_and_back(tmp_path):
    wasm = _wasm(EH_MODULE, tmp_path)
    plan = [{"export": "trap", "args": []}, {"export": "thru", "args": []}]
    assert _compare(wasm, plan, {}).status == "ok"
    r = _compare(wasm, plan, {0: ("exception", ["u", []])})
    assert r.status == "mismatch" and r.reason.startswith("call 0 trap")
    assert shrink.signature(r).startswith("mismatch call: wasmtime trap wasm `unreachable`")
    r = _compare(wasm, plan, {1: ("trap", "wasm `unreachable` instruction executed")})
    assert r.status == "mismatch" and r.reason.startswith("call 1 thru")
    r = _compare(wasm, plan, {1: ("ok", [])})
    assert r.status == "mismatch" and "wasmtime [\"exception\"" in r.reason


def test_the_comparator_flags_a_wrong_tag_or_payload_and_lets_nans_be(tmp_path):
    wasm = _wasm(EH_MODULE, tmp_path)
    plan = [{"export": "thr", "args": [5]}]
    payload = ["t", [["i32", 5], ["f32", 0x7FC00000], ["i64", -3]]]
    assert _compare(wasm, plan, {0: ("exception", payload)}).status == "ok"  # any NaN
    wrong_value = ["t", [["i32", 6], ["f32", 0x7FC00000], ["i64", -3]]]
    assert _compare(wasm, plan, {0: ("exception", wrong_value)}).status == "mismatch"
    wrong_tag = ["u", [["i32", 5], ["f32", 0x7FC00000], ["i64", -3]]]
    assert _compare(wasm, plan, {0: ("exception", wrong_tag)}).status == "mismatch"
    not_nan = ["t", [["i32", 5], ["f32", 0x3F800000], ["i64", -3]]]
    assert _compare(wasm, plan, {0: ("exception", not_nan)}).status == "mismatch"


def test_export_tags_exports_every_imported_and_defined_tag(tmp_path):
    wasm = _wasm('(module (import "m" "t" (tag (param i32))) (tag (param f64)) (tag) '
                 '(func (export "f")))', tmp_path)
    exports, _ = harness.exports_of(harness.export_tags(wasm))
    tags = [(e.name, e.params) for e in exports if e.kind == "tag"]
    assert tags == [(f"{harness.TAG_EXPORT}0", ("i32",)), (f"{harness.TAG_EXPORT}1", ("f64",)),
                    (f"{harness.TAG_EXPORT}2", ())]
    assert harness.export_tags(_wasm("(module)", tmp_path)) == _wasm("(module)", tmp_path)


SCALE = int(os.environ.get("WASMAOT_DIFF_EH_SCALE", "30"))


def test_a_slice_of_the_exception_presets_agrees_with_wasmtime(tmp_path):
    """SCALE smith modules of the exception presets (seeds from 0), on x86_64 at -O0
    and -O2, a fifth of them on aarch64 too: no mismatch, hang, crash or error; and
    calls did throw past the export (else the slice would not test exceptions)."""
    cases = farm.cases_of(0, SCALE, EXCEPTION_CONFIGS)
    fc = farm.FarmConfig(EXCEPTION_CONFIGS, ("x86_64-O0", "x86_64-O2"), 0.2, timeout=120.0,
                         out=tmp_path, explicit_share=0.1)
    f = farm.Farm(fc)
    f.run(cases, jobs=1)
    lines = [farm.ledger_line(r, o) for r, o in f.reports]
    print(farm.summary(lines))
    bad = [f"{line['case']}: {line['outcome']}: {line['reason']} "
           + "; ".join(f"{v['variant']}: {v['status']}: {v['reason']}" for v in line["variants"]
                       if v["status"] not in ("ok", "skipped", "inconclusive"))
           for line in lines if line["outcome"] in ("mismatch", "hang", "crash", "error")]
    assert not bad, "\n".join(bad)
    assert len(lines) == SCALE
    assert sum(v["thrown"] for line in lines for v in line["variants"]) > 0
