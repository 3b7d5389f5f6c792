"""`--deterministic` (issue 9, item 4): the same result bytes on every target.

With the flag, every NaN that float arithmetic produces (scalar and vector,
relaxed SIMD included) is the positive canonical NaN, operations the spec makes
bit-exact keep their NaN's bits, and relaxed madd is unfused everywhere
(deterministic_nan.wast, in process and in x86-64 / aarch64 test executables).
A C program printing float results prints the same bytes on x86-64 and
aarch64 with the flag and different ones without it.  Without the flag the IR
has no canonicalization at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wasmaot import api
from wasmaot.codegen import numeric, simd
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.compile import CompileRequest, compile_module
from wasmaot.commands.manifest import read_manifest
from wasmaot.commands.run import cached_executable
from wasmaot.commands.wast import run_file
from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.wasm.opcodes import OPCODES

HERE = Path(__file__).resolve().parent
WAST = HERE / "deterministic_nan.wast"
C_PROGRAM = HERE / "deterministic_floats.c"
QEMU = ["qemu-aarch64-static"]

# (target, opt level): None runs in this process (x86-64 here).
BACKENDS = [(None, 0), (None, 2), (None, 3), ("x86_64-linux", 2), ("aarch64-linux", 0),
            ("aarch64-linux", 2)]


def _counts(result) -> tuple[int, int, int]:
    assert result.error is None, result.error
    return result.passed, result.failed, result.skipped


@pytest.mark.parametrize("target,opt_level", BACKENDS)
def test_deterministic_nans_are_canonical_and_exact_ops_keep_bits(target, opt_level):
    result = run_file(WAST, opt_level=opt_level, target=target, deterministic=True)
    failures = [f"{o.line}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert not failures, failures
    passed, failed, skipped = _counts(result)
    assert passed > 100 and failed == skipped == 0


@pytest.mark.parametrize("target", [None, "aarch64-linux"])
def test_without_the_flag_nan_bits_follow_the_cpu(target):
    """The script can fail: without --deterministic x86-64 makes -nan and
    aarch64 passes NaN payloads on (and fuses madd)."""
    passed, failed, skipped = _counts(run_file(WAST, target=target))
    assert failed > 0 and skipped == 0


def _module_wasm() -> bytes:
    """The script's module, as bytes."""
    text = WAST.read_text()
    start = text.index("(module")
    end = text.index("\n)\n", start) + 2
    return wat_bytes_to_wasm(text[start:end].encode())


def _ir(deterministic: bool, opt_level: int) -> str:
    req = CompileRequest(opt_level=opt_level, output="llvm-ir", deterministic=deterministic)
    objects, _ = compile_module(_module_wasm(), req, split=False)
    return b"".join(objects).decode()


@pytest.mark.parametrize("opt_level", [0, 2])
def test_ir_without_the_flag_has_no_canonicalization(opt_level):
    plain, det = _ir(False, opt_level), _ir(True, opt_level)
    assert numeric.CANONICAL_NAN not in plain and "fcmp uno" not in plain
    assert det.count(numeric.CANONICAL_NAN) > 0


def test_ir_canonicalizes_each_nan_producing_row_once():
    """At -O0 each NaN-producing function of the script has exactly one select of
    the canonical NaN, and the bit-exact ones none."""
    det = _ir(True, 0)
    selects = sum(1 for line in det.splitlines()
                  if "select" in line and numeric.CANONICAL_NAN in line)
    rows = numeric.NAN_PRODUCING | simd.NAN_PRODUCING
    exported = {line.split('"')[1] for line in WAST.read_text().splitlines()
                if line.startswith("  (func (export")}
    assert selects == len(exported & rows)


def test_every_float_row_has_exactly_one_nan_class():
    """Every row with a float (or float-lane) result is NaN-producing, bit-exact or
    never NaN: a new row cannot slip past --deterministic unclassified."""
    scalar = {op.name for op in OPCODES if op.name in numeric.NUMERIC_OPS
              and set(op.results) & {"f32", "f64"}}
    vector = {name for name in simd.SIMD_OPS if name.split(".")[0] in ("f32x4", "f64x2")}
    for rows, mod in ((scalar, numeric), (vector, simd)):
        classes = (mod.NAN_PRODUCING, mod.NAN_EXACT, mod.NEVER_NAN)
        assert all(sum(r in c for c in classes) == 1 for r in rows)
        assert set().union(*classes) == rows


def test_api_cache_keeps_deterministic_builds_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    wasm = _module_wasm()
    plain = api.compile(wasm)
    det = api.compile(wasm, deterministic=True)
    assert plain.path != det.path and det.options.deterministic
    div = det.instantiate().exports["f32.div"]
    assert div.call_bits(0, 0) == 0x7FC00000


def test_run_cache_keeps_deterministic_builds_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(_module_wasm())
    assert cached_executable(str(wasm), 0) != cached_executable(str(wasm), 0, deterministic=True)


@pytest.fixture(scope="module")
def float_program(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("det") / "floats.wasm"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2", "-s",
                    "-msimd128", "-mrelaxed-simd", str(C_PROGRAM), "-o", str(out), "-lm"],
                   check=True)
    return out.read_bytes()


def _run_c(wasm: bytes, out: Path, target: str, deterministic: bool) -> bytes:
    exe = build(wasm, out, BuildOptions(target=target, deterministic=deterministic))
    assert read_manifest(exe.read_bytes())["flags"].get("deterministic", False) == deterministic
    cmd = [*QEMU, str(exe)] if target == "aarch64-linux" else [str(exe)]
    proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_c_program_prints_the_same_bytes_on_both_targets(float_program, tmp_path):
    x86 = _run_c(float_program, tmp_path / "x86", "x86_64-linux", True)
    arm = _run_c(float_program, tmp_path / "arm", "aarch64-linux", True)
    assert x86 == arm
    lines = dict(line.split(None, 1) for line in x86.decode().splitlines())
    for what in ("0/0", "sqrt(-1)", "inf-inf", "(0/0)+1", "series"):
        assert lines[what].split() == ["nan", "7ff8000000000000"], what
    assert lines["-(0/0)"].split() == ["-nan", "fff8000000000000"]  # neg is bit-exact
    assert lines["sqrtf(-1)"].split() == ["nan", "7fc00000"]
    assert lines["relaxed_madd"].split()[2] == "0/00000000"  # unfused: rounds twice


def test_c_program_differs_between_targets_without_the_flag(float_program, tmp_path):
    x86 = _run_c(float_program, tmp_path / "x86", "x86_64-linux", False)
    arm = _run_c(float_program, tmp_path / "arm", "aarch64-linux", False)
    assert x86 != arm
    assert b"-nan" in x86.split(b"\n")[0] and b"-nan" not in arm.split(b"\n")[0]


@pytest.mark.parametrize("extra", [[], ["--timeout", "1m"]], ids=["fast-path", "full-cli"])
def test_run_flag_reaches_the_build(tmp_path, extra):
    """`wasmaot run --deterministic` through the fast path (entry.py) and the full CLI:
    the program exits with the sign bit of 0/0, which the flag makes 0."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    cmd = [sys.executable, "-c", "from wasmaot.entry import main; main()", "run",
           str(HERE / "deterministic_exit_sign.wat"), "--deterministic", *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
