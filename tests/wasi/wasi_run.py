"""Shared helpers for tests/wasi: build C to wasm with zig, build the wasm
with wasmaot, run the executable (natively, or under qemu for aarch64) and
run the same module in wasmtime with WASI configured the same way.

A run is summarised as `Outcome(stdout, code)`, which is what the tests
compare (stderr deliberately differs: errno texts, trap backtraces)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


from wasmaot.driver.build import BuildOptions, Grant, build

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
TARGETS = ["x86_64-linux", "aarch64-linux"]
TRAP_EXIT = 134  # wasmtime's CLI (and wasmaot) exit code for a trap


@dataclass(frozen=True)
class Outcome:
    stdout: bytes
    code: int


def zig_wasm(source: Path, out: Path, flags: tuple[str, ...] = ()) -> bytes:
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2",
                    *flags, str(source), "-o", str(out)], check=True)
    return out.read_bytes()


def build_exe(wasm: bytes, out: Path, target: str, dirs: tuple[Grant, ...] = (),
              env: tuple[str, ...] = ()) -> Path:
    return build(wasm, out, BuildOptions(target=target, dirs=dirs, env=env))


def run_exe(path: Path, target: str, args: list[str], stdin: bytes = b"",
            env: dict[str, str] | None = None, cwd: Path | None = None,
            ) -> subprocess.CompletedProcess:
    """Runs the executable with a clean environment (plus `env`), so no
    WASMAOT_* run-time grant leaks in from the caller."""
    prefix = []
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
        prefix = [QEMU]
    return subprocess.run([*prefix, str(path), *args], check=False, input=stdin,
                          capture_output=True,
                          env={"PATH": os.environ.get("PATH", ""), **(env or {})},
                          cwd=cwd, timeout=120)


def outcome(proc: subprocess.CompletedProcess) -> Outcome:
    return Outcome(proc.stdout, proc.returncode)


def run_wasmtime(wasm: bytes, args: list[str], scratch: Path, stdin: bytes = b"",
                 dirs: tuple[Grant, ...] = (), env: dict[str, str] | None = None,
                 argv0: str = "prog") -> Outcome:
    """Runs `_start` in wasmtime. proc_exit(n) gives code n; a trap gives
    TRAP_EXIT, as wasmtime's CLI does."""
    import wasmtime

    scratch.mkdir(parents=True, exist_ok=True)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = [argv0, *args]
    config.env = sorted((env or {}).items())
    stdin_path, out_path = scratch / "wasmtime.stdin", scratch / "wasmtime.stdout"
    stdin_path.write_bytes(stdin)
    config.stdin_file = str(stdin_path)
    config.stdout_file = str(out_path)
    config.stderr_file = str(scratch / "wasmtime.stderr")
    for grant in dirs:
        config.preopen_dir(grant.host, grant.guest, fs_mutable=not grant.readonly)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module(engine, wasm))
    code = 0
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    except (wasmtime.Trap, wasmtime.WasmtimeError):
        code = TRAP_EXIT
    return Outcome(out_path.read_bytes(), code)
