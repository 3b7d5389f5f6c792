"""The exception-handling examples (issue 10, item 5 and its program
acceptance): examples/setjmp (C setjmp/longjmp, lowered by clang to the tag
__c_longjmp) and examples/cxx-exceptions (C++ throw/catch through libc++abi,
the tag __cpp_exception), built with zig for wasm32-wasi with standard wasm
exceptions, then by wasmaot for x86-64 (run natively) and aarch64 (under
qemu).  stdout and exit status must equal the wasmtime CLI's
(`-W exceptions=y`) byte for byte, and for a run that completes, what the same
source prints built natively (that checks the lowering against C and C++'s own
semantics, not only against wasmtime).

The in-process API has no WASI, so these programs only run as executables;
tests/api/test_wasm_exceptions.py covers exceptions through the API."""

from __future__ import annotations

import importlib.util
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest
from wasi_run import REPO, TARGETS, build_exe, built_once, run_exe, wasmtime_cli, zig_wasm

from wasmaot.driver.wat import wasm_tools_executable

SJLJ_FLAGS = ("-mexception-handling", "-mllvm", "-wasm-enable-sjlj",
              "-mllvm", "-wasm-use-legacy-eh=false")
EXAMPLES = ["setjmp", "cxx-exceptions"]
UNCAUGHT_EXIT = 1  # wasmtime's CLI (and wasmaot) when an exception leaves _start
# Default rounds, none, a few, many; a usage error (exit 2, nothing on stdout);
# for C++ an exception that nothing catches.
CASES = {
    "setjmp": [[], ["0"], ["3"], ["100000"], ["x"]],
    "cxx-exceptions": [[], ["0"], ["3"], ["100000"], ["x"], ["uncaught"]],
}
# Instructions as `wasm-tools print` puts them, one a line.
TAG = re.compile(r"^\s*\(tag ", re.MULTILINE)
THROW = re.compile(r"^\s*throw\s", re.MULTILINE)
TRY_TABLE_CATCH = re.compile(r"^\s*try_table .*\(catch", re.MULTILINE)
LEGACY = re.compile(r"^\s*(try|catch|catch_all|delegate|rethrow)\b(?!_)", re.MULTILINE)
PARAMS = [pytest.param(name, args, target, id=f"{name}-{i}-{target}")
          for name, cases in CASES.items() for i, args in enumerate(cases) for target in TARGETS]


def expected_code(args: list[str]) -> int:
    if args == ["uncaught"]:
        return UNCAUGHT_EXIT
    return 2 if args == ["x"] else 0


def cxx_build_wasm():
    """examples/cxx-exceptions/build.py's build_wasm (a script, not a package)."""
    path = REPO / "examples/cxx-exceptions/build.py"
    spec = importlib.util.spec_from_file_location("cxx_exceptions_build", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_wasm


@pytest.fixture(scope="session")
def wasms(tmp_path_factory):
    out = tmp_path_factory.mktemp("eh-wasm")
    return {
        "setjmp": zig_wasm(REPO / "examples/setjmp/setjmp.c", out / "setjmp.wasm", SJLJ_FLAGS),
        "cxx-exceptions": cxx_build_wasm()(out / "cxx-exceptions.wasm"),
    }


@pytest.fixture(scope="session")
def legacy_wasms(tmp_path_factory):
    """The same programs in the legacy encoding (try/catch/delegate/rethrow)."""
    out = tmp_path_factory.mktemp("eh-legacy-wasm")
    flags = (*SJLJ_FLAGS[:-1], "-wasm-use-legacy-eh=true")
    return {
        "setjmp": zig_wasm(REPO / "examples/setjmp/setjmp.c", out / "setjmp.wasm", flags),
        "cxx-exceptions": cxx_build_wasm()(out / "cxx-exceptions.wasm", legacy=True),
    }


@pytest.fixture(scope="session")
def exes(wasms, tmp_path_factory):
    """exes(name, target): the executable, built once per session."""
    return built_once(wasms, tmp_path_factory.mktemp("eh-exe"))


@pytest.fixture(scope="session")
def natives(tmp_path_factory):
    """The same sources built for this machine with zig (musl, static)."""
    if platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip(f"no native build for {platform.machine()}")
    out = tmp_path_factory.mktemp("eh-native")
    target = f"{platform.machine()}-linux-musl"
    built = {}
    for name, driver, src in (("setjmp", "cc", "examples/setjmp/setjmp.c"),
                              ("cxx-exceptions", "c++",
                               "examples/cxx-exceptions/cxx-exceptions.cpp")):
        built[name] = out / name
        subprocess.run([sys.executable, "-m", "ziglang", driver, "-target", target, "-O2",
                        str(REPO / src), "-o", str(built[name])], check=True)
    return built


def wasmtime_run(wasm: bytes, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "m.wasm"
    path.write_bytes(wasm)
    return subprocess.run([wasmtime_cli(), "run", "-W", "exceptions=y", str(path), *args],
                          capture_output=True, check=False, timeout=300)


def instructions(wasm: bytes, tmp_path: Path) -> str:
    path = tmp_path / "p.wasm"
    path.write_bytes(wasm)
    return subprocess.run([wasm_tools_executable(), "print", str(path)], check=True,
                          capture_output=True, text=True).stdout


@pytest.mark.parametrize("name", EXAMPLES)
def test_exception_examples_use_standard_wasm_exceptions(wasms, tmp_path, name):
    """The modules really throw and catch with the standard encoding (else the
    comparisons below would not test the exception lowering), and use none of
    the legacy instructions."""
    text = instructions(wasms[name], tmp_path)
    assert TAG.search(text), "no tag defined"
    assert THROW.search(text), "no throw"
    assert TRY_TABLE_CATCH.search(text), "no try_table with a catch"
    legacy = LEGACY.findall(text)
    assert not legacy, sorted(set(legacy))


@pytest.mark.parametrize("name,args,target", PARAMS)
def test_exception_example_matches_wasmtime(wasms, exes, tmp_path, name, args, target):
    got = run_exe(exes(name, target), target, args)
    want = wasmtime_run(wasms[name], args, tmp_path)
    assert (got.stdout, got.returncode) == (want.stdout, want.returncode)
    assert want.returncode == expected_code(args), want.stderr.decode(errors="replace")
    if args == ["uncaught"]:
        # Both name the cause; the rest of stderr (backtraces) differs.
        assert b"thrown Wasm exception" in want.stderr
        assert got.stderr.startswith(b"wasm exception: thrown Wasm exception"), got.stderr


@pytest.mark.parametrize("name,args", [(name, args) for name, cases in CASES.items()
                                       for args in cases if expected_code(args) == 0])
def test_exception_example_matches_native(exes, natives, name, args):
    """setjmp/longjmp and throw/catch as the host's C library and C++ runtime
    implement them print the same."""
    target = f"{platform.machine()}-linux"
    got = run_exe(exes(name, target), target, args)
    want = subprocess.run([str(natives[name]), *args], capture_output=True, check=False,
                          timeout=120)
    assert want.returncode == 0 and want.stdout.count(b"\n") > 5
    assert (got.stdout, got.returncode) == (want.stdout, want.returncode)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_legacy_encoded_example_matches_native(legacy_wasms, natives, tmp_path, name, target):
    """The legacy encoding of the same programs (wasmtime does not run it, so
    the native build is the reference): legacy try/catch, delegate and rethrow
    on real code."""
    text = instructions(legacy_wasms[name], tmp_path)
    legacy = set(LEGACY.findall(text))
    assert {"try", "catch"} <= legacy and "try_table" not in text, sorted(legacy)
    exe = build_exe(legacy_wasms[name], tmp_path / name, target)
    _assert_runs_like_native(exe, target, natives[name])


def _assert_runs_like_native(exe, target: str, native) -> None:
    """`exe 1000` prints what the native build prints, also with the exception
    collector run at every allocation (see below)."""
    want = subprocess.run([str(native), "1000"], capture_output=True, check=False,
                          timeout=120)
    assert want.returncode == 0
    for env in ({}, {"WASMAOT_EXN_GC_STRESS": "1"}):
        got = run_exe(exe, target, ["1000"], env=env)
        assert (got.stdout, got.returncode) == (want.stdout, want.returncode), env


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_unchanged_by_a_collection_at_every_allocation(exes, natives, name, target):
    """The exception collector (runtime_c/exception.c) run at every allocation of an
    exception (WASMAOT_EXN_GC_STRESS=1, for tests): a root it missed would free an object
    real C++/setjmp code still names, and change the output or crash."""
    got = run_exe(exes(name, target), target, ["1000"], env={"WASMAOT_EXN_GC_STRESS": "1"})
    want = subprocess.run([str(natives[name]), "1000"], capture_output=True, check=False,
                          timeout=120)
    assert want.returncode == 0
    assert (got.stdout, got.returncode) == (want.stdout, want.returncode), got.stderr


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_partitioned_example_matches_native(wasms, natives, tmp_path, monkeypatch, name,
                                            target):
    """Cut into many partitions and both tiers (codegen/partition.py; the
    examples are small and normally compile in one piece), exceptions still
    unwind through functions of other partitions and tiny ones."""
    import wasmaot.driver.compile as compile_mod
    from wasmaot.codegen.partition import partition_functions
    from wasmaot.driver.compile import frontend
    monkeypatch.setattr(compile_mod, "PARTITION_BYTES", 512)
    assert len(partition_functions(*frontend(wasms[name]), 512)) >= 8
    _assert_runs_like_native(build_exe(wasms[name], tmp_path / name, target), target,
                             natives[name])
