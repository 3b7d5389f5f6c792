"""The toolchain driver: cached, race-safe, deterministic runtime builds for every target,
module linking against the shared runtime, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wasmaot.codegen import abi
from wasmaot.driver import toolchain
from wasmaot.driver.targets import resolve_target
from wasmaot.errors import ToolchainError

ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


def elf_machine(path: Path) -> int:
    data = path.read_bytes()[:20]
    assert data[:4] == b"\x7fELF"
    return int.from_bytes(data[18:20], "little")


def test_host_build_is_cached(rt):
    first = toolchain.runtime_build("host")
    mtime = first.library.stat().st_mtime_ns
    again = toolchain.runtime_build("host")
    assert again == first and again.library.stat().st_mtime_ns == mtime
    assert (first.directory / "include" / "wasmaot_abi.h").read_text() == abi.c_header()
    assert b"libwasmaot_rt.so" in first.library.read_bytes()  # its soname


@pytest.mark.parametrize("name", ["aarch64-linux-musl", "x86_64-linux-musl"])
def test_static_runtime_for_executables(name):
    build = toolchain.runtime_build(name)
    assert build.library is None and build.archive.is_file()
    assert len(build.objects) == len(toolchain.runtime_sources())
    for obj in build.objects:
        assert elf_machine(obj) == ELF_MACHINE[resolve_target(name).arch], obj
    assert build.archive.read_bytes().startswith(b"!<arch>\n")


def _isolated_env(cache: Path) -> dict:
    env = dict(os.environ)
    zig_cache = env.get("ZIG_GLOBAL_CACHE_DIR") or str(
        Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zig")
    env["ZIG_GLOBAL_CACHE_DIR"] = zig_cache  # keep zig's own cache warm
    env["XDG_CACHE_HOME"] = str(cache)
    return env


BUILD = "from wasmaot.driver import toolchain; print(toolchain.runtime_build('x86_64-linux-musl').archive)"


def test_racing_builds_and_reproducibility(tmp_path):
    """Two processes build into one empty cache at once: both succeed, one build stays,
    no temporary directory is left.  A build elsewhere gives identical bytes."""
    race = tmp_path / "race"
    procs = [subprocess.Popen([sys.executable, "-c", BUILD], env=_isolated_env(race), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    paths = {out.strip() for out, _ in outs}
    assert len(paths) == 1
    entries = sorted(os.listdir(race / "wasmaot" / "runtime"))
    assert len(entries) == 1 and not entries[0].startswith(".tmp"), entries

    other = tmp_path / "elsewhere" / "deeper"
    proc = subprocess.run([sys.executable, "-c", BUILD], env=_isolated_env(other), capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    first, second = Path(paths.pop()), Path(proc.stdout.strip())
    assert first != second and first.read_bytes() == second.read_bytes()


def test_link_module_shared_needs_the_runtime_by_soname(fake_paths):
    data = fake_paths["plain"].read_bytes()
    assert b"libwasmaot_rt.so" in data  # DT_NEEDED, resolved to the already-loaded copy
    assert not any(p.name.endswith(".tmp") for p in fake_paths["plain"].parent.iterdir())


def test_compile_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text("int f(void) { return undeclared; }\n")
    with pytest.raises(ToolchainError) as e:
        toolchain.compile_object(bad, tmp_path / "bad.o")
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"compiling {bad} for x86_64-linux-gnu: ")
    assert "use of undeclared identifier 'undeclared'" in message
    assert "undeclared" in e.value.details


def test_link_errors_are_one_line(tmp_path):
    src = tmp_path / "m.c"
    src.write_text("void no_such_function(void); void f(void) { no_such_function(); }\n")
    obj = toolchain.compile_object(src, tmp_path / "m.o")
    with pytest.raises(ToolchainError, match=r"^linking m\.so for x86_64-linux-gnu: .*no_such_function") as e:
        toolchain.link_module_shared(obj, tmp_path / "m.so")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "m.so").exists() and list(tmp_path.glob("*.tmp")) == []


def test_unknown_target():
    with pytest.raises(ToolchainError, match="^unknown target 'riscv64-linux-gnu' \\(known: host, "):
        toolchain.runtime_build("riscv64-linux-gnu")
    with pytest.raises(ToolchainError, match="has no shared runtime"):
        toolchain.link_module_shared("x.o", "x.so", "aarch64-linux-musl")
