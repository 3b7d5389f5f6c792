"""Grants are bytes (issue 8, item 6): any byte string but NUL, given as an
environment value, a guest path or a host path, reaches the guest exactly --
baked in by `wasmaot build`, given at run time through the WASMAOT_* lists
(what `wasmaot run` uses), and shown by `wasmaot inspect`.  The guest,
programs/grants.c, prints its environment and its preopens' names in hex, and
the hex of the file `probe` in each preopen (which holds the host path it was
created under, so a grant that opened the wrong directory shows).

Before: `--env 'E=🎉'` did not build (json.dumps wrote a surrogate pair, which
is no C), and a host path with a comma became two grants at run time."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wasi_run import TARGETS, build_exe, exe_command, zig_wasm

from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.grants import Grant, GrantError, RunGrants, from_manifest_value
from wasmaot.commands.manifest import read_manifest
from wasmaot.commands.run import grant_environment

PROGRAM = Path(__file__).resolve().parent / "programs" / "grants.c"

# Bytes that broke or could break an encoding: the list separator, the escape,
# the HOST::GUEST separator, NAME=VALUE's '=', control bytes, bytes that are not
# UTF-8, an emoji (a surrogate pair in JSON).
TRICKY = [b",", b"\\", b":", b"::", b"=", b"\n", b"\x01", b"\x7f", b"\xff", b"\xc3",
          "🎉".encode(), "é".encode(), b" ", b"\"", b"'", b"%s", b"??/"]
chunks = st.one_of(st.sampled_from(TRICKY), st.binary(max_size=4))
any_bytes = st.lists(chunks, max_size=6).map(lambda parts: b"".join(parts).replace(b"\0", b""))
some_bytes = any_bytes.filter(bool)
env_names = some_bytes.map(lambda b: b.replace(b"=", b"")).filter(bool)
env_specs = st.tuples(env_names, any_bytes).map(lambda nv: nv[0] + b"=" + nv[1])
# A directory name under a fresh parent: no '/', not '.' or '..'.
host_names = some_bytes.map(lambda b: b.replace(b"/", b"")[:100]).filter(
    lambda b: b not in (b"", b".", b".."))
dir_specs = st.lists(st.tuples(host_names, some_bytes, st.booleans()), max_size=4,
                     unique_by=lambda d: d[0])

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])


@dataclass(frozen=True)
class Seen:
    """What the guest printed: its environment entries and (preopen name,
    content of its `probe`) pairs, in order."""
    env: list
    dirs: list


def seen(stdout: bytes) -> Seen:
    env, dirs = [], []
    for line in stdout.decode().splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "env":
            env.append(bytes.fromhex(rest))
        else:
            assert kind == "dir", line
            name, _, probe = rest.partition(" ")
            dirs.append((bytes.fromhex(name), bytes.fromhex(probe) if "errno" not in probe
                         else probe))
    return Seen(env, dirs)


@pytest.fixture(scope="module")
def grants_wasm(tmp_path_factory) -> bytes:
    return zig_wasm(PROGRAM, tmp_path_factory.mktemp("grants") / "grants.wasm")


_fresh = itertools.count()


def make_dirs(base: Path, specs) -> list[Grant]:
    """Host directories named as `specs` says, each under a parent of its own
    and holding a `probe` file with its own host path."""
    grants = []
    for name, guest, readonly in specs:
        parent = os.fsencode(base / f"p{next(_fresh)}")
        host = parent + b"/" + name
        os.makedirs(host)
        with open(host + b"/probe", "wb") as f:
            f.write(host)
        grants.append(Grant(host, guest, readonly))
    return grants


def run(exe: Path, target: str, env: dict[bytes, bytes]) -> Seen:
    proc = subprocess.run(exe_command(exe, target), env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return seen(proc.stdout)


def expect_run(grants: RunGrants) -> Seen:
    """`run` gives the read-write directories (WASMAOT_DIR) before the
    read-only ones (WASMAOT_RO_DIR)."""
    ordered = [g for g in grants.dirs if not g.readonly] + [g for g in grants.dirs if g.readonly]
    return Seen(list(grants.env), [(g.guest, g.host) for g in ordered])


# --- baked in by `wasmaot build` -----------------------------------------------------


def check_build(wasm: bytes, out: Path, target: str, dirs: list[Grant], env: tuple) -> None:
    opts = BuildOptions(target=target, dirs=tuple(dirs), env=env)
    exe = build(wasm, out, opts)
    assert run(exe, target, {}) == Seen(list(env), [(g.guest, g.host) for g in dirs])
    grants = read_manifest(exe.read_bytes())["grants"]
    assert [from_manifest_value(e) for e in grants["env"]] == list(env)
    assert [(from_manifest_value(d["host"]), from_manifest_value(d["guest"]), d["readonly"])
            for d in grants["dirs"]] == [(g.host, g.guest, g.readonly) for g in dirs]


@settings(max_examples=6, **SETTINGS)  # one build per example: a few seconds each
@given(env=st.lists(env_specs, max_size=6), dirs=dir_specs)
def test_build_carries_any_bytes_to_the_guest_and_the_manifest(grants_wasm, tmp_path, env, dirs):
    base = tmp_path / f"b{next(_fresh)}"
    check_build(grants_wasm, base.with_suffix(".exe"), "x86_64-linux",
                make_dirs(base, dirs), tuple(env))


# The cases of the issue, on both targets.
FIXED_ENV = ("E=🎉".encode(), b"C=\x01x", b"N=\xfe\xff", b"L=a,b\\c::d", b"EMPTY=")
FIXED_DIRS = [(b"a,b", b"/g,1", False), (b"n\xff\xfe", "/🎉".encode(), True),
              (b"back\\slash", b"\\", False), (b"c::d", b"/x::y", False)]


@pytest.mark.parametrize("target", TARGETS)
def test_build_carries_commas_backslashes_emoji_and_non_utf8(grants_wasm, tmp_path, target):
    check_build(grants_wasm, tmp_path / "exe", target, make_dirs(tmp_path, FIXED_DIRS), FIXED_ENV)


def test_wasmaot_build_and_inspect_take_the_issues_repro(grants_wasm, tmp_path):
    """`wasmaot build --env 'E=🎉'` built nothing before; now the guest sees it
    and `wasmaot inspect` shows a non-UTF-8 host path as hex."""
    wasm, out = tmp_path / "grants.wasm", tmp_path / "out"
    wasm.write_bytes(grants_wasm)
    [d] = make_dirs(tmp_path, [(b"a,b\xff", b"/g", False)])
    wasmaot = [os.fsencode(sys.executable), b"-m", b"wasmaot"]
    proc = subprocess.run([*wasmaot, b"build", os.fsencode(wasm), b"-o", os.fsencode(out),
                           b"--env", "E=🎉".encode(), b"--dir", d.host + b"::/g"],
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert run(out, "x86_64-linux", {}) == Seen(["E=🎉".encode()], [(b"/g", d.host)])
    shown = subprocess.run([*wasmaot, b"inspect", os.fsencode(out)], capture_output=True,
                           text=True, timeout=600).stdout
    assert f'{{"hex": "{d.host.hex()}"}}' in shown and '"E=\\ud83c\\udf89"' in shown, shown


# --- given at run time: the WASMAOT_* lists ------------------------------------------


@pytest.fixture(scope="module")
def bare_exe(grants_wasm, tmp_path_factory):
    """bare_exe(target): the program with nothing baked in, built once."""
    out, built = tmp_path_factory.mktemp("grants-exe"), {}

    def get(target):
        if target not in built:
            built[target] = build_exe(grants_wasm, out / target, target)
        return built[target]
    return get


@settings(max_examples=60, **SETTINGS)
@given(env=st.lists(env_specs, max_size=8), dirs=dir_specs)
def test_run_time_lists_carry_any_bytes_to_the_guest(bare_exe, tmp_path, env, dirs):
    grants = RunGrants(tuple(make_dirs(tmp_path, dirs)), tuple(env))
    assert run(bare_exe("x86_64-linux"), "x86_64-linux", grant_environment(grants)) == \
        expect_run(grants)


@settings(max_examples=5, **SETTINGS)  # under qemu: slower
@given(env=st.lists(env_specs, max_size=4), dirs=dir_specs)
def test_run_time_lists_carry_any_bytes_on_aarch64(bare_exe, tmp_path, env, dirs):
    grants = RunGrants(tuple(make_dirs(tmp_path, dirs)), tuple(env))
    assert run(bare_exe("aarch64-linux"), "aarch64-linux", grant_environment(grants)) == \
        expect_run(grants)


@pytest.mark.parametrize("target", TARGETS)
def test_run_time_lists_carry_the_fixed_cases(bare_exe, tmp_path, target):
    grants = RunGrants(tuple(make_dirs(tmp_path, FIXED_DIRS)), FIXED_ENV)
    assert run(bare_exe(target), target, grant_environment(grants)) == expect_run(grants)


def test_a_name_alone_passes_the_hosts_value_whatever_its_bytes(bare_exe):
    env = grant_environment(RunGrants(env=(b"HOSTVAL", b"ABSENT")))
    env[b"HOSTVAL"] = b"\xff,\\::\xf0\x9f\x8e\x89"
    assert run(bare_exe("x86_64-linux"), "x86_64-linux", env).env == \
        [b"HOSTVAL=\xff,\\::\xf0\x9f\x8e\x89"]


@pytest.mark.parametrize("joined", [False, True], ids=["fast-path", "full-cli"])
def test_wasmaot_run_passes_any_bytes(grants_wasm, tmp_path, joined):
    """The command line end to end: argv is bytes (Python decodes it with
    surrogateescape), the grants go through the lists, the guest sees them.
    `--opt=VALUE` is left to the full CLI by the fast path (commands/run.py)."""
    wasm = tmp_path / "grants.wasm"
    wasm.write_bytes(grants_wasm)
    rw, ro = make_dirs(tmp_path, [(b"r,w\\\xff", b"/w,", False), (b"o\xfe:x", b"/unused", True)])
    cmd = [os.fsencode(sys.executable), b"-m", b"wasmaot", b"run", os.fsencode(wasm),
           b"--dir", rw.host + b"::" + rw.guest, b"--ro-dir", ro.host,  # GUEST: the same
           b"--env", "E=🎉,".encode(), b"--env", b"X=\\\xff"]
    if joined:
        cmd[5:] = [cmd[i] + b"=" + cmd[i + 1] for i in range(5, len(cmd), 2)]
    proc = subprocess.run(cmd, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert seen(proc.stdout) == Seen(["E=🎉,".encode(), b"X=\\\xff"],
                                     [(b"/w,", rw.host), (ro.host, ro.host)])


# --- refused grants: one clear line ----------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: BuildOptions(env=(b"A=\0b",)), "environment grant 'A=\\\\x00b' contains a NUL byte"),
    (lambda: BuildOptions(env=("=x",)), "has no NAME"),
    (lambda: Grant(b"/a\0b", b"/g"), "host path '/a\\\\x00b' contains a NUL byte"),
    (lambda: Grant(b"/a", b"/g\0"), "guest path '/g\\\\x00' contains a NUL byte"),
    (lambda: Grant(b"/a", b""), "empty guest path"),
    (lambda: BuildOptions(tcp_listen=(b"127.0.0.1:1\0",)), "listen address .* NUL"),
    (lambda: BuildOptions(env=tuple(f"V{i}=1" for i in range(257))), "at most 256"),
], ids=["nul-env", "no-name", "nul-host", "nul-guest", "empty-guest", "nul-listen", "too-many"])
def test_bad_grants_are_refused_before_building(make, message):
    with pytest.raises(GrantError, match=message):
        make()


@pytest.mark.parametrize("var, value, message", [
    ("WASMAOT_DIR", "a\\q", "WASMAOT_DIR: unknown escape at byte 1"),
    ("WASMAOT_RO_DIR", "a,b\\", "WASMAOT_RO_DIR: a backslash ends the list at byte 3"),
    ("WASMAOT_ENV", "A=1,=x", "an environment grant has no NAME: =x"),
    ("WASMAOT_DIR", "/no/such\n/dir", "cannot open directory /no/such\\x0a/dir to grant it"),
    ("WASMAOT_DIR", "/tmp::", "the directory grant has an empty guest path: /tmp"),
    ("WASMAOT_DIR", "::/g", "a directory grant needs a host path"),
], ids=["bad-escape", "trailing-backslash", "no-name", "missing-dir", "empty-guest", "empty-host"])
def test_bad_run_time_grants_give_one_line_and_exit_1(bare_exe, var, value, message):
    proc = subprocess.run([bare_exe("x86_64-linux")], env={var: value}, capture_output=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout) == (1, b"")
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_empty_items_are_skipped(bare_exe):
    env = {"WASMAOT_ENV": ",A=1,,B=2,", "WASMAOT_DIR": ","}
    assert run(bare_exe("x86_64-linux"), "x86_64-linux",
               {k.encode(): v.encode() for k, v in env.items()}).env == [b"A=1", b"B=2"]


@pytest.mark.parametrize("args, message", [
    (["--dir", "/definitely/missing"], "cannot open directory /definitely/missing to grant it"),
    (["--env", "=x"], "invalid grant: environment grant '=x' has no NAME"),
    (["--dir", "/tmp::"], "invalid grant: the directory grant of '/tmp' has an empty guest path"),
], ids=["missing-dir", "no-name", "empty-guest"])
def test_wasmaot_run_refuses_a_bad_grant_in_one_line(grants_wasm, tmp_path, args, message):
    wasm = tmp_path / "grants.wasm"
    wasm.write_bytes(grants_wasm)
    proc = subprocess.run([sys.executable, "-m", "wasmaot", "run", str(wasm), *args],
                          capture_output=True, text=True, timeout=600)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and message in lines[0], proc.stderr
