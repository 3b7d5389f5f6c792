"""The native launcher (runtime_c/launcher/launcher.c, driver/launcher.py) takes the
cache-hit path of `wasmaot run` itself and must do exactly what Python's fast path
does there: exec the executable cached_executable finds, with argv and environment
as exec_with_grants gives them; everything else goes to Python unchanged.

Most tests put a small "show" program at the cache paths Python computes: it prints
its own path, its argv and its environment, so the launcher's choice and what it
passes are compared with Python's byte for byte.  The launcher under test is built
with a stand-in for Python that records its arguments and exits 99, so that a hit is
seen not to start Python, and a fallback to pass the arguments on unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wasmaot.commands.run import cached_executable, grant_environment
from wasmaot.driver import cache
from wasmaot.driver.grants import RunGrants
from wasmaot.driver.host import host_arch, host_target_name
from wasmaot.driver.launcher import PYTHON_ARGS, PYTHON_CODE, build_launcher
from wasmaot.driver.toolchain import zig_command

REPO = Path(__file__).resolve().parents[2]
# The caches of the environment the tests run in (the fixture `env` moves wasmaot's
# to tmp_path, and zig's would follow it: zig finds its cache through XDG_CACHE_HOME).
CALLERS_CACHE_DIR = Path(cache.cache_dir())
ZIG_CACHE_DIR = os.environ.get("ZIG_GLOBAL_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zig")
FELL_BACK = 99  # the stand-in Python's exit status

SHOW_C = r"""
#include <stdio.h>
#include <unistd.h>
extern char **environ;
/* Its own path, argv and environment, each item NUL-terminated. */
int main(int argc, char **argv) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n < 0 ? 0 : n] = 0;
    printf("exe=%s%c", exe, 0);
    for (int i = 0; i < argc; i++) printf("arg=%s%c", argv[i], 0);
    for (char **e = environ; *e; e++) printf("env=%s%c", *e, 0);
    return 0;
}
"""


class Tools:
    """What the tests build once: launchers and the show program."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fake_python = root / "fake-python"
        self.fake_python.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done\n'
                                    f"exit {FELL_BACK}\n")
        self.fake_python.chmod(0o755)
        self.hit_only = build_launcher(root / "hit-only", str(self.fake_python))
        self.full = build_launcher(root / "full", sys.executable)
        self.show = root / "show"
        (root / "show.c").write_text(SHOW_C)
        subprocess.run([*zig_command(), "cc", "-target", f"{host_arch()}-linux-musl", "-O1",
                        "-static", "-s", str(root / "show.c"), "-o", str(self.show)], check=True)


@pytest.fixture(scope="module")
def tools(tmp_path_factory) -> Tools:
    return Tools(tmp_path_factory.mktemp("launcher"))


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[bytes, bytes]:
    """A caller's environment with its own cache in tmp_path (also this process's, so
    cache.py computes paths there), with the compiler fingerprint remembered in it,
    as a first `wasmaot run` leaves it.  LC_ALL: a C locale would have Python add
    LC_CTYPE to its own environment (PEP 538), which is not wasmaot's doing."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ZIG_GLOBAL_CACHE_DIR", ZIG_CACHE_DIR)  # not its libc again
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    cache.compute_fingerprint()
    return {k: v for k, v in os.environb.items() if not k.startswith(b"WASMAOT_")}


def run_flags(level: int, deterministic: bool) -> str:
    return cache.run_flags(host_target_name(), level, deterministic=deterministic)


def place_show(tools: Tools, data: bytes, level: int = 2, deterministic: bool = False) -> Path:
    """The show program at the cache path of `data` built with these flags."""
    exe = Path(cache.run_executable_path(
        cache.digest(cache.compute_fingerprint(), run_flags(level, deterministic), data)
        [:cache.KEY_LENGTH]))
    exe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(tools.show, exe)
    return exe


def shown(out: bytes) -> tuple[str, list[bytes], list[bytes]]:
    """The show program's output: (its path, argv, environment)."""
    items = out.split(b"\0")[:-1]
    exe = [i[4:] for i in items if i.startswith(b"exe=")]
    args = [i[4:] for i in items if i.startswith(b"arg=")]
    environ = [i[4:] for i in items if i.startswith(b"env=")]
    assert len(exe) == 1 and len(exe) + len(args) + len(environ) == len(items), out
    return os.fsdecode(exe[0]), args, environ


def launch(launcher: Path, argv: list, env: dict, cwd: Path | None = None):
    return subprocess.run([str(launcher), *argv], env=env, cwd=cwd, capture_output=True,
                          timeout=120, check=False)


def python_fast_path(argv: list, env: dict, cwd: Path | None = None):
    """What the `wasmaot` Python console script does with `argv`."""
    return subprocess.run([sys.executable, "-c", PYTHON_CODE, *argv], env=env, cwd=cwd,
                          capture_output=True, timeout=300, check=False)


# --- SHA-256 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["cpu", "portable"])
def test_sha256_gives_the_fips_180_vectors_and_hashlibs_digest_at_every_block_boundary(tools, code):
    """`cpu`: with the CPU's SHA instructions where it has them (x86-64), `portable`: without."""
    generic = ("WASMAOT_LAUNCHER_SHA256_GENERIC",) if code == "portable" else ()
    sha = build_launcher(tools.root / f"sha256-{code}", str(tools.fake_python),
                         defines=("WASMAOT_LAUNCHER_SHA256_FILTER", *generic))
    vectors = {
        b"": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        b"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq":
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        b"a" * 1_000_000: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    }
    # Every length of padding into one block or two, and lengths across reads of stdin.
    lengths = [*range(130), 1000, 4095, 4096, 4097, 9000]
    messages = [bytes((i * 7 + n) % 256 for i in range(n)) for n in lengths]
    cases = {**vectors, **{m: hashlib.sha256(m).hexdigest() for m in messages}}
    for data, expected in cases.items():
        out = subprocess.run([str(sha)], input=data, capture_output=True, check=True)
        assert out.stdout.decode().strip() == expected, len(data)


# --- hits -------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [b"\0asm\1\0\0\0", b"\0asm\1\0\0\0" + bytes(range(256)) * 40])
def test_a_hit_execs_the_executable_cached_executable_finds_for_each_flag_set(tools, env, module,
                                                                              tmp_path):
    (tmp_path / "sub").mkdir()
    wasm = tmp_path / "sub" / "prog.wasm"
    wasm.write_bytes(module)
    for level in range(4):
        for deterministic in (False, True):
            exe = place_show(tools, module, level, deterministic)
            assert cached_executable(str(wasm), level, deterministic=deterministic) == str(exe)
    before = sorted(p for p in (tmp_path / "cache").rglob("*"))
    for level_flag, level in ([], 2), (["-O0"], 0), (["-O1"], 1), (["-O3"], 3), (["-O0", "-O3"], 3):
        for det_flag, deterministic in ([], False), (["--deterministic"], True):
            flags = [*det_flag, *level_flag]
            out = launch(tools.hit_only, ["run", *flags, "sub/prog.wasm", "--", "a", "-O1", ""], env,
                         cwd=tmp_path)
            assert out.returncode == 0, (flags, out.stdout, out.stderr)
            path, args, _ = shown(out.stdout)
            assert path == str(place_show(tools, module, level, deterministic)), flags
            assert args == [b"prog.wasm", b"a", b"-O1", b""]
    assert sorted(p for p in (tmp_path / "cache").rglob("*")) == before  # nothing built


@pytest.mark.parametrize("home", ["home", "home/", "home//"])
def test_without_xdg_cache_home_the_cache_is_under_home_as_python_finds_it(tools, tmp_path, home,
                                                                            monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", f"{tmp_path}/{home}")
    cache.compute_fingerprint()  # remembered in the cache Python finds
    assert cache.cache_dir() == str(tmp_path / "home" / ".cache" / "wasmaot")
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(b"\0asm\1\0\0\0home")
    exe = place_show(tools, wasm.read_bytes())
    out = launch(tools.hit_only, ["run", str(wasm)], dict(os.environb))
    assert out.returncode == 0, out.stdout
    assert shown(out.stdout)[0] == str(exe)


def test_the_executables_argv_and_environment_are_byte_for_byte_the_python_fast_paths(
        tools, env, tmp_path, monkeypatch):
    wasm = tmp_path / "grants.wasm"
    wasm.write_bytes(b"\0asm\1\0\0\0grants")
    exe = place_show(tools, wasm.read_bytes(), 1)
    odd = os.fsdecode(b"\xff\xfe-not-utf8")
    argv = ["run", "--dir", "a,b::c:d", "--dir", "x\\y", "--dir", f"h{odd}", "--ro-dir", "p::q::r",
            "--ro-dir", "h::::x", "--env", "A=1,2", "--env", "B", "--env", "C=", "--env", "D=::\\,",
            "--env", f"E={odd}", "--tcp-listen", "127.0.0.1:8080", "--tcp-listen", "[::1]:1",
            "-O1", str(wasm), "--", f"arg{odd}", "--dir", ""]
    caller = {**env, b"WASMAOT_DIR": b"/evil", b"WASMAOT_TIMEOUT": b"1ms", b"WASMAOT_": b"x",
              b"HOSTVAL": b"\xfe,::\\", b"PATH": env.get(b"PATH", b"/usr/bin")}
    ours = launch(tools.hit_only, argv, caller)
    theirs = python_fast_path(argv, caller)
    assert ours.returncode == theirs.returncode == 0, (ours.stdout, theirs.stderr)
    assert ours.stdout == theirs.stdout
    path, args, environ = shown(ours.stdout)
    assert path == str(exe)
    assert args == [b"grants.wasm", b"arg\xff\xfe-not-utf8", b"--dir", b""]
    grants = RunGrants.parse(dirs=["a,b::c:d", "x\\y", f"h{odd}"], ro_dirs=["p::q::r", "h::::x"],
                             env=["A=1,2", "B", "C=", "D=::\\,", f"E={odd}"],
                             tcp_listen=["127.0.0.1:8080", "[::1]:1"])
    assert dict(e.split(b"=", 1) for e in environ if e.startswith(b"WASMAOT_")) == \
        grants.environment()
    assert environ[-4:] == [b"%s=%s" % kv for kv in grants.environment().items()]
    assert b"WASMAOT_DIR=/evil" not in environ and not any(
        e.startswith((b"WASMAOT_TIMEOUT=", b"WASMAOT_=")) for e in environ)
    monkeypatch.setattr(os, "environb", caller)  # grant_environment() in the caller's process
    assert environ == [b"%s=%s" % kv for kv in grant_environment(grants).items()]


# --- fallbacks --------------------------------------------------------------------------------


def test_every_form_fast_run_declines_goes_to_python_with_the_arguments_unchanged(
        tools, env, tmp_path):
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(b"\0asm\1\0\0\0forms")
    place_show(tools, wasm.read_bytes())
    (tmp_path / "m.wat").write_text("(module)")
    m = str(wasm)
    forms = [
        ["inspect", m], ["run"], ["run", "--timeout", "1s", m], ["run", "--bogus", m],
        ["run", m, m], ["run", "-O", "2", m], ["run", "--cpu", "native", m], ["run", "-q", m],
        ["run", "--", m], ["run", m, "--dir"], ["run", "--dir", "", m], ["run", "--dir", "a::", m],
        ["run", "--ro-dir", "::b", m], ["run", "--env", "=x", m], ["run", "--env", "", m],
        ["run", "--tcp-listen", "", m], ["run", str(tmp_path / "m.wat")],
        ["run", str(tmp_path / "M.WAST")], ["run", str(tmp_path / "missing.wasm")],
        ["run", str(tmp_path)], ["run", "-"],
        ["run", *[a for i in range(257) for a in ("--env", f"V{i}")], m],  # over MAX_GRANTS
    ]
    for argv in forms:
        out = launch(tools.hit_only, argv, env)
        assert out.returncode == FELL_BACK, (argv, out.stdout)
        assert out.stdout.decode().split("\n")[:-1] == [*PYTHON_ARGS, *argv], argv


def test_a_miss_a_forgotten_fingerprint_or_a_changed_source_goes_to_python(tools, env, tmp_path,
                                                                         monkeypatch):
    # A copy of wasmaot's sources, fingerprinted in place of these (the launcher
    # takes its roots from cache.fingerprint_roots()).
    roots = []
    for root in cache.fingerprint_roots():
        copy = tmp_path / "tree" / Path(root).name
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
        roots.append(str(copy))
    monkeypatch.setattr(cache, "PACKAGE_DIR", roots[0])
    monkeypatch.setattr(cache, "RUNTIME_C_DIR", roots[1])
    launcher = build_launcher(tmp_path / "launcher", str(tools.fake_python))
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(b"\0asm\1\0\0\0stale")

    def hit() -> bool:
        out = launch(launcher, ["run", str(wasm)], env)
        assert out.returncode in (0, FELL_BACK), out.stderr
        return out.returncode == 0

    cache.compute_fingerprint()  # remembered for the copy, as a first run leaves it
    assert not hit()  # not cached: no executable at all
    exe = place_show(tools, wasm.read_bytes())
    assert hit()
    source = Path(roots[0]) / "driver" / "cache.py"
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # an edit as its time shows it
    assert not hit()
    cache.compute_fingerprint()  # Python's next run remembers the edited tree (same bytes)
    assert hit()
    (Path(roots[1]) / "new.h").write_text("/* a new header changes the runtime */\n")
    assert not hit()
    (Path(roots[1]) / "new.h").unlink()
    assert hit()
    (Path(roots[0]) / "__pycache__").mkdir(exist_ok=True)
    (Path(roots[0]) / "__pycache__" / "stray.py").write_text("")  # Python's, not a source
    assert hit()
    shutil.rmtree(Path(cache.cache_dir()) / cache.FINGERPRINTS_DIR)
    assert not hit()  # nothing remembered: only Python can hash the sources
    assert exe.exists()


def test_a_miss_builds_through_python_and_then_runs_from_the_launcher(tools, env, tmp_path):
    # The runtime is shared with the caller's cache (building it again takes minutes).
    mine = Path(cache.cache_dir())
    for shared in ("runtime", "link-plans"):
        (CALLERS_CACHE_DIR / shared).mkdir(parents=True, exist_ok=True)
        (mine / shared).symlink_to(CALLERS_CACHE_DIR / shared)
    wasm = tmp_path / "hello.wasm"
    subprocess.run([*zig_command(), "cc", "-target", "wasm32-wasi", "-O2",
                    str(REPO / "examples/hello/hello.c"), "-o", str(wasm)], check=True)
    first = launch(tools.full, ["run", "-O0", str(wasm), "--", "x"], env)
    assert (first.returncode, first.stdout) == (0, b"hello from wasm\narg 1: x\n"), first.stderr
    again = launch(tools.hit_only, ["run", "-O0", str(wasm), "--", "x"], env)
    assert (again.returncode, again.stdout) == (0, b"hello from wasm\narg 1: x\n"), again.stdout


def test_bad_flags_get_the_clis_one_line_error_through_python(tools, env, tmp_path):
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(b"\0asm\1\0\0\0")
    bogus = launch(tools.full, ["run", "--bogus", str(wasm)], env)
    assert bogus.returncode == 2
    assert b"Usage: wasmaot run" in bogus.stderr and b"No such option '--bogus'" in bogus.stderr
    empty = launch(tools.full, ["run", "--dir", "", str(wasm)], env)
    assert empty.returncode == 1 and b"Traceback" not in empty.stderr
    assert empty.stderr.decode().splitlines() == [
        f"{wasm}: invalid grant: a directory grant needs a host path"]


# --- installing -------------------------------------------------------------------------------


def test_install_launcher_replaces_the_script_beside_python_atomically(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from wasmaot.cli import cli

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "wasmaot"
    script.write_text("#!/usr/bin/python3\n# pip's console script\n")
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    result = CliRunner().invoke(cli, ["install-launcher"], prog_name="wasmaot",
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output == f"installed the wasmaot launcher as {script}\n"
    assert script.read_bytes()[:4] == b"\x7fELF" and script.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in bin_dir.iterdir()) == ["wasmaot"]  # no temporary file left


def test_install_launcher_into_a_missing_directory_is_one_line_and_status_1(tmp_path):
    target = tmp_path / "missing" / "wasmaot"
    out = subprocess.run([sys.executable, "-m", "wasmaot", "install-launcher", "--into", str(target)],
                         capture_output=True, text=True, timeout=120, check=False,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 1 and out.stdout == ""
    expected = (f"{target}: toolchain error: cannot install the launcher in {target.parent}: "
                "No such file or directory")
    assert out.stderr.splitlines() == [expected]
