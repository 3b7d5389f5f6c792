"""`wasmaot build`: standalone executables for x86-64 and aarch64 (under
qemu-user), compared with wasmtime running the same module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.wat import wat_to_wasm
from wasmaot.errors import LinkError

REPO = Path(__file__).resolve().parents[2]
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
TARGETS = ["x86_64-linux", "aarch64-linux"]


def zig_wasm(source: Path, out: Path) -> bytes:
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2",
                    str(source), "-o", str(out)], check=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def hello_wasm(tmp_path_factory) -> bytes:
    return zig_wasm(REPO / "examples/hello/hello.c", tmp_path_factory.mktemp("hello") / "h.wasm")


def run_exe(path: Path, target: str, args: list[str]) -> subprocess.CompletedProcess:
    prefix = []
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
        prefix = [QEMU]
    return subprocess.run([*prefix, str(path), *args], capture_output=True, text=True,
                          timeout=60)


def run_wasmtime(wasm: bytes, args: list[str], tmp_path: Path) -> tuple[str, int]:
    import wasmtime

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = ["prog", *args]
    out = tmp_path / "wasmtime.out"
    config.stdout_file = str(out)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm))
    code = 0
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    return out.read_text(), code


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("args", [[], ["42", "two words", "ünïcode"]], ids=["no-args", "args"])
def test_hello_matches_wasmtime(hello_wasm, tmp_path, target, args):
    exe = build(hello_wasm, tmp_path / "hello", BuildOptions(target=target))
    got = run_exe(exe, target, args)
    want_out, want_code = run_wasmtime(hello_wasm, args, tmp_path)
    assert (got.stdout, got.returncode) == (want_out, want_code)


def _program_header_types(elf: bytes) -> list[int]:
    phoff = int.from_bytes(elf[0x20:0x28], "little")
    phentsize = int.from_bytes(elf[0x36:0x38], "little")
    phnum = int.from_bytes(elf[0x38:0x3A], "little")
    return [int.from_bytes(elf[phoff + i * phentsize:phoff + i * phentsize + 4], "little")
            for i in range(phnum)]


@pytest.mark.parametrize("target", TARGETS)
def test_executable_is_static(hello_wasm, tmp_path, target):
    exe = build(hello_wasm, tmp_path / "hello", BuildOptions(target=target))
    elf = exe.read_bytes()
    assert elf[:4] == b"\x7fELF"
    PT_INTERP, PT_DYNAMIC = 3, 2
    assert not {PT_INTERP, PT_DYNAMIC} & set(_program_header_types(elf))
    print(f"hello executable for {target}: {len(elf)} bytes")
    assert len(elf) <= 200 * 1024  # issue 4's budget for hello world


@pytest.mark.parametrize("target", TARGETS)
def test_same_input_builds_byte_identical_executables_in_different_directories(hello_wasm,
                                                                                tmp_path, target):
    opts = BuildOptions(target=target, cache=False)  # two builds, not a build and a copy
    a = build(hello_wasm, (tmp_path / "a").mkdir() or tmp_path / "a" / "x", opts)
    b = build(hello_wasm, (tmp_path / "b").mkdir() or tmp_path / "b" / "y", opts)
    assert a.read_bytes() == b.read_bytes()


def test_a_fresh_cache_elsewhere_builds_the_same_bytes(hello_wasm, tmp_path):
    """As on another machine: the runtime rebuilt from scratch in another cache
    directory, the build run from another working directory."""
    (tmp_path / "h.wasm").write_bytes(hello_wasm)
    outs = []
    for name in ("one", "two"):
        work = tmp_path / name
        work.mkdir()
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
        subprocess.run([sys.executable, "-m", "wasmaot", "build", str(tmp_path / "h.wasm"),
                        "-o", "hello"], cwd=work, env=env, check=True, capture_output=True)
        outs.append((work / "hello").read_bytes())
    assert outs[0] == outs[1]


def test_failed_build_keeps_the_existing_output(tmp_path):
    out = tmp_path / "app"
    out.write_bytes(b"precious")
    src = tmp_path / "bad.wat"
    src.write_text('(module (import "env" "f" (func)) (import "wasi_snapshot_preview1" '
                   '"fd_write" (func (param i32))))')
    bad = wat_to_wasm(src)
    with pytest.raises(LinkError, match="env::f.*fd_write: type mismatch"):
        build(bad, out, BuildOptions())
    assert out.read_bytes() == b"precious"
    assert sorted(os.listdir(tmp_path)) == ["app", "bad.wat"]


def test_executable_carries_a_manifest_that_inspect_reads(hello_wasm, tmp_path):
    import hashlib

    from wasmaot.commands.build import Grant
    from wasmaot.commands.manifest import read_manifest

    exe = build(hello_wasm, tmp_path / "hello",
                BuildOptions(dirs=(Grant("/srv", "/data", True),), env=("LANG",), locked=True))
    manifest = read_manifest(exe.read_bytes())
    assert manifest["module_sha256"] == hashlib.sha256(hello_wasm).hexdigest()
    assert manifest["target"] == "x86_64-linux" and manifest["flags"]["locked"] is True
    assert manifest["grants"]["dirs"] == [{"host": "/srv", "guest": "/data", "readonly": True}]
    assert manifest["grants"]["env"] == ["LANG"]


def test_run_builds_once_then_runs_from_the_cache_with_grants(hello_wasm, tmp_path):
    zig_wasm(REPO / "examples/cat/cat.c", tmp_path / "cat.wasm")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "f.txt").write_text("granted\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "wasmaot", "run", str(tmp_path / "cat.wasm"),
           "--dir", f"{data_dir}::/d", "--", "/d/f.txt"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert (first.stdout, first.returncode) == ("granted\n", 0), first.stderr
    cached = sorted((tmp_path / "cache" / "wasmaot" / "exe").iterdir())
    second = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert second.stdout == "granted\n"
    assert sorted((tmp_path / "cache" / "wasmaot" / "exe").iterdir()) == cached
    denied = subprocess.run(cmd[:5] + ["--", str(data_dir / "f.txt")], capture_output=True,
                            text=True, env=env)
    assert denied.returncode == 1 and denied.stdout == ""  # no grant, no access


def test_racing_runs_on_an_empty_cache_all_succeed_and_leave_one_entry(hello_wasm, tmp_path):
    wasm = tmp_path / "hello.wasm"
    wasm.write_bytes(hello_wasm)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "wasmaot", "run", str(wasm), "--", "racer"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            for _ in range(4)]
    results = [(p.communicate(timeout=600), p.returncode) for p in runs]
    first_stdout = results[0][0][0]
    assert b"racer" in first_stdout
    for (stdout, stderr), code in results:
        assert (stdout, code) == (first_stdout, 0), stderr.decode()
    entries = list((tmp_path / "cache" / "wasmaot" / "exe").iterdir())
    assert len(entries) == 1 and not entries[0].name.startswith("."), entries
