"""CPU levels (`--cpu`, driver/cpu.py): a wrong level is one error line; the
manifest says which level an executable was built for; an executable refuses
to start, with one line and exit 1 (never SIGILL), on a CPU without its
level's features -- checked on CPUs qemu-user emulates (`-cpu Nehalem`, an
x86-64-v2 CPU; `-cpu cortex-a53`, ARMv8.0) through the executable's own
startup check (runtime_c/cpu.c); and SIMD spec scripts pass at the levels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wasmaot.driver import cpu, toolchain
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.host import host_target_name
from wasmaot.commands.wast import run_file
from wasmaot.commands.wast_remote import ExecutableFailed
from wasmaot.errors import ToolchainError

REPO = Path(__file__).resolve().parents[2]
TESTSUITE = (REPO.parent / "shared" / "testsuite").resolve()
QEMU_X86 = shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")
QEMU_ARM = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
HOST_IS_X86 = host_target_name() == "x86_64-linux"

HELLO = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "hi\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 8))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))))"""

V3_OVER_V2 = "AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE"
V82_OVER_A53 = "ATOMICS, FPHP, ASIMDHP, ASIMDRDM, LRCPC, ASIMDDP"  # the A53 has CRC32


def wasmaot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "wasmaot", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cpu") / "hello.wat"
    path.write_text(HELLO)
    return path


_BUILT: dict = {}


def built(hello: Path, target: str, level: str) -> Path:
    """`hello` built for `target` at `level` (once per test session)."""
    if (target, level) not in _BUILT:
        from wasmaot.driver.wat import wat_to_wasm

        out = hello.parent / f"hello-{target}-{level}"
        build(wat_to_wasm(hello), out, BuildOptions(target=target, cpu=level))
        _BUILT[target, level] = out
    return _BUILT[target, level]


def host_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


# --- choosing a level -----------------------------------------------------------------------


@pytest.mark.parametrize("target, level, message", [
    ("x86_64-linux", "sse9", "unknown --cpu 'sse9' (levels of x86_64-linux: default, baseline, "
                             "x86-64-v2, x86-64-v3, x86-64-v4, native)"),
    ("x86_64-linux", "aarch64-v8.2", "--cpu aarch64-v8.2 is not a level of x86_64-linux"),
    ("aarch64-linux", "x86-64-v3", "--cpu x86-64-v3 is not a level of aarch64-linux (its "
                                   "levels: default, baseline, aarch64-v8.2, native)"),
    ("aarch64-linux" if HOST_IS_X86 else "x86_64-linux", "native",
     "--cpu native is this machine's CPU, which is not"),
])
def test_a_wrong_level_is_one_error_line_and_builds_nothing(hello, tmp_path, target, level,
                                                            message):
    proc = wasmaot("build", str(hello), "-o", "out", "--target", target, "--cpu", level,
                   cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{hello}: toolchain error: "), proc.stderr
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["wast"], ["run"], ["wast", "--target", "x86_64-linux"]])
def test_wast_and_run_refuse_a_wrong_level_too(hello, tmp_path, command):
    proc = wasmaot(*command, str(hello), "--cpu", "armv9", cwd=tmp_path)
    assert proc.returncode == 1
    assert "unknown --cpu 'armv9'" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout.strip() in ("", "0 passed, 1 failed, 0 skipped")


def test_every_level_names_features_of_its_own_architecture():
    for level in cpu.LEVELS:
        choice = cpu.resolve(level.arch, level.name)
        rows = [f.name for f in cpu.FEATURES[level.arch]]
        assert choice.mask == sum(1 << rows.index(n) for n in level.requires)
        assert (level.name == "baseline") == (choice.mask == 0)


# --- the manifest ---------------------------------------------------------------------------


@pytest.mark.parametrize("target, level, requires", [
    ("x86_64-linux", "baseline", []),
    ("x86_64-linux", "default", ["SSE3", "SSSE3", "SSE4.1", "SSE4.2", "POPCNT", "CMPXCHG16B",
                                 "LAHF-SAHF"]),
    ("aarch64-linux", "default", []),
    ("x86_64-linux", "x86-64-v3", ["SSE3", "SSSE3", "SSE4.1", "SSE4.2", "POPCNT", "CMPXCHG16B",
                                   "LAHF-SAHF", *V3_OVER_V2.split(", ")]),
    ("aarch64-linux", "aarch64-v8.2", ["CRC32", "ATOMICS", "FPHP", "ASIMDHP", "ASIMDRDM",
                                       "LRCPC", "ASIMDDP"]),
])
def test_inspect_shows_the_level_an_executable_was_built_for(hello, tmp_path, target, level,
                                                              requires):
    exe = built(hello, target, level)
    proc = wasmaot("inspect", str(exe), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("cpu: "))
    shown = json.loads(line.removeprefix("cpu: "))
    resolved = cpu.DEFAULT_LEVEL[target.split("-")[0]] if level == "default" else level
    assert shown["level"] == resolved and shown["requires"] == requires


@pytest.mark.skipif(not HOST_IS_X86, reason="compares with this x86-64 host's /proc/cpuinfo")
def test_native_requires_every_table_feature_this_cpu_has(hello, tmp_path):
    """LLVM's host features, mapped through the table, are the CPU's own flags,
    and the runtime's CPUID reading agrees (the executable starts here)."""
    exe = built(hello, "x86_64-linux", "native")
    from wasmaot.commands.manifest import read_manifest

    flags = host_flags()
    expected = [f.name for f in cpu.FEATURES["x86_64"] if f.cpuinfo in flags]
    assert read_manifest(exe.read_bytes())["cpu"]["requires"] == expected
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n", "")


# --- the runtime's check --------------------------------------------------------------------


def _lacks_program(tmp_path: Path, target: str) -> Path:
    """A program that prints the names of every table row this CPU lacks, through
    runtime_c/cpu.c (as an executable's start does)."""
    t = toolchain.resolve_target(target)
    runtime = toolchain.runtime_build(t)
    arch = t.arch.upper()
    src = tmp_path / "lacks.c"
    src.write_text(
        '#include <stdint.h>\n#include <stdio.h>\n#include "wasmaot_build_config.h"\n'
        "int main(void) {\n  char names[4096];\n"
        f"  wasmaot_cpu_lacks((1ull << WASMAOT_CPU_FEATURES_{arch}_COUNT) - 1, names, "
        "sizeof names);\n  puts(names);\n  return 0;\n}\n")
    toolchain.compile_object(src, tmp_path / "lacks.o", t, include_dirs=runtime.include_dirs)
    toolchain._run([*toolchain.zig_command(), "cc", "-target", t.zig_target, "-static", "-o",
                    "lacks", "lacks.o", str(runtime.archive)], "linking lacks", cwd=tmp_path)
    return tmp_path / "lacks"


@pytest.mark.skipif(not HOST_IS_X86, reason="compares with this x86-64 host's /proc/cpuinfo")
def test_the_runtime_reads_every_x86_row_as_the_kernel_does(tmp_path):
    """Each row's CPUID bit (and XCR0 need) against the kernel's /proc/cpuinfo flags:
    a present feature read as absent, or an absent one as present, is a wrong row."""
    out = subprocess.run([str(_lacks_program(tmp_path, "x86_64-linux-musl"))],
                         capture_output=True, text=True, timeout=60).stdout.strip()
    flags = host_flags()
    lacking = [f.name for f in cpu.FEATURES["x86_64"] if f.cpuinfo not in flags]
    assert out == ", ".join(lacking)


@pytest.mark.skipif(QEMU_ARM is None, reason="needs qemu-aarch64-static")
@pytest.mark.parametrize("model, lacks_level", [("cortex-a53", True), ("cortex-a76", False)])
def test_the_runtime_reads_the_aarch64_level_rows_from_hwcap(tmp_path, model, lacks_level):
    out = subprocess.run([QEMU_ARM, "-cpu", model, str(_lacks_program(tmp_path,
                                                                       "aarch64-linux-musl"))],
                         capture_output=True, text=True, timeout=60).stdout.strip()
    lacking = set(out.split(", "))
    level = set(cpu.resolve("aarch64", "aarch64-v8.2").requires)
    assert "CRC32" not in lacking  # both have it (optional in ARMv8.0, the A53 has it)
    assert (level - {"CRC32"} <= lacking) == lacks_level
    assert (level & lacking == set()) == (not lacks_level)


def _run(prefix: list, exe: Path) -> tuple:
    proc = subprocess.run([*prefix, str(exe)], capture_output=True, text=True, timeout=120)
    # qemu may warn about CPU features TCG cannot emulate; those lines are not the program's.
    err = [ln for ln in proc.stderr.splitlines() if not ln.startswith("qemu-")]
    return proc.returncode, proc.stdout, err


@pytest.mark.skipif(QEMU_X86 is None, reason="needs qemu-x86_64-static")
@pytest.mark.parametrize("level, model, lacks", [
    ("baseline", "qemu64", None),
    ("x86-64-v2", "Nehalem", None),
    ("x86-64-v2", "core2duo", "SSE4.1, SSE4.2, POPCNT"),
    ("x86-64-v3", "Nehalem", V3_OVER_V2),
    ("x86-64-v3", "Haswell", None),
    ("x86-64-v4", "Haswell", "AVX512F, AVX512BW, AVX512CD, AVX512DQ, AVX512VL"),
])
def test_an_x86_executable_refuses_a_cpu_without_its_level(hello, level, model, lacks):
    code, out, err = _run([QEMU_X86, "-cpu", model], built(hello, "x86_64-linux", level))
    if lacks is None:
        assert (code, out, err) == (0, "hi\n", [])
    else:
        assert (code, out) == (1, "")
        assert err == [f"error: this program needs an {level} CPU; this CPU lacks {lacks}"]


@pytest.mark.skipif(QEMU_ARM is None, reason="needs qemu-aarch64-static")
@pytest.mark.parametrize("level, model, lacks", [
    ("baseline", "cortex-a53", None),
    ("aarch64-v8.2", "cortex-a53", V82_OVER_A53),
    ("aarch64-v8.2", "cortex-a76", None),
    ("aarch64-v8.2", "neoverse-n1", None),
])
def test_an_aarch64_executable_refuses_a_cpu_without_its_level(hello, level, model, lacks):
    code, out, err = _run([QEMU_ARM, "-cpu", model], built(hello, "aarch64-linux", level))
    if lacks is None:
        assert (code, out, err) == (0, "hi\n", [])
    else:
        assert (code, out) == (1, "")
        assert err == [f"error: this program needs an {level} CPU; this CPU lacks {lacks}"]


@pytest.mark.skipif(not HOST_IS_X86 or QEMU_X86 is None, reason="an x86-64 host and qemu")
def test_a_native_executable_refuses_an_older_cpu(hello):
    code, out, err = _run([QEMU_X86, "-cpu", "Nehalem"], built(hello, "x86_64-linux", "native"))
    assert (code, out) == (1, "") and len(err) == 1
    assert err[0].startswith("error: this program needs a CPU like the build machine's (")
    assert "this CPU lacks AVX, AVX2" in err[0]


@pytest.mark.skipif(QEMU_ARM is None, reason="needs qemu-aarch64-static")
def test_a_wast_test_executable_refuses_a_cpu_without_its_level(monkeypatch):
    monkeypatch.setenv("QEMU_CPU", "cortex-a53")  # the CPU qemu-user emulates
    with pytest.raises(ExecutableFailed, match=f"these modules need an aarch64-v8.2 CPU; this "
                                               f"CPU lacks {V82_OVER_A53}"):
        run_file(TESTSUITE / "simd_lane.wast", target="aarch64-linux", cpu="aarch64-v8.2")


# --- SIMD at the levels ---------------------------------------------------------------------

# Files whose lowering changes most with the level: rounding (roundps from SSE4.1),
# shuffles (pshufb), popcnt and multiplies, dot products, conversions, fused madd.
SIMD_FILES = ["simd_f32x4_rounding.wast", "simd_f64x2_rounding.wast", "simd_i8x16_arith2.wast",
              "simd_i32x4_arith2.wast", "simd_i64x2_arith.wast", "simd_lane.wast",
              "simd_i32x4_dot_i16x8.wast", "simd_conversions.wast", "simd_i16x8_q15mulr_sat_s.wast",
              "relaxed_madd_nmadd.wast", "relaxed_dot_product.wast", "i8x16_relaxed_swizzle.wast"]

IN_PROCESS_LEVELS = ["x86-64-v2", "x86-64-v3", "native"] if HOST_IS_X86 else ["aarch64-v8.2",
                                                                                "native"]


def _passes(result) -> None:
    assert result.error is None and result.passed > 0
    bad = [f"{o.line}: {o.kind}: {o.detail}" for o in result.outcomes if o.kind != "passed"]
    assert bad == []


@pytest.mark.parametrize("level", IN_PROCESS_LEVELS)
@pytest.mark.parametrize("name", SIMD_FILES)
def test_simd_spec_file_passes_in_process_at_level(name, level):
    _passes(run_file(TESTSUITE / name, cpu=level))


@pytest.mark.parametrize("target, level", [("x86_64-linux", "x86-64-v3"),
                                           ("aarch64-linux", "aarch64-v8.2")])
@pytest.mark.parametrize("name", ["simd_f32x4_rounding.wast", "simd_i32x4_dot_i16x8.wast",
                                  "relaxed_madd_nmadd.wast", "relaxed_dot_product.wast"])
def test_simd_spec_file_passes_in_a_test_executable_at_level(name, target, level):
    if target.split("-")[0] != host_target_name().split("-")[0] and QEMU_ARM is None:
        pytest.skip("needs qemu-aarch64-static")
    _passes(run_file(TESTSUITE / name, target=target, cpu=level))


# Without SSE4.1 (x86-64 baseline) wasm's floor, ceil, trunc and nearest are libm calls;
# in an executable they bind to runtime_c/rounding.c (musl has no roundeven, and its
# floor/ceil/trunc return a signalling NaN unquieted).
ROUNDING_FILES = ["f32.wast", "f64.wast", "simd_f32x4_rounding.wast", "simd_f64x2_rounding.wast"]


@pytest.mark.parametrize("name", ROUNDING_FILES)
def test_rounding_spec_file_passes_in_a_baseline_x86_executable(name):
    if not HOST_IS_X86 and QEMU_X86 is None:
        pytest.skip("needs an x86-64 host or qemu-x86_64-static")
    _passes(run_file(TESTSUITE / name, target="x86_64-linux", cpu="baseline"))
