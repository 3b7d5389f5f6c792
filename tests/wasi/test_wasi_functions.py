"""WASI preview1 functions (issue 4, item 11), exercised by the C programs in
programs/ and compared with wasmtime on stdout and exit code. Every case runs
on x86-64 natively; a representative subset also runs on aarch64 under qemu.

Directories are granted at run time (WASMAOT_DIR / WASMAOT_RO_DIR), so one
executable per program and target serves every test; the environment test
bakes its grants at build time."""

from __future__ import annotations

import pytest
from wasi_run import (
    PROGRAMS,
    TRAP_EXIT,
    Grant,
    build_exe,
    outcome,
    run_exe,
    run_wasmtime,
    zig_wasm,
)

X86, ARM = "x86_64-linux", "aarch64-linux"
X86_ONLY = [X86]
BOTH = [X86, ARM]
BOTH = [X86, ARM]
LINK_FLAGS = {"malloc": ("-Wl,--max-memory=67108864",)}  # exhaustion at 64 MiB, not 4 GiB


@pytest.fixture(scope="session")
def wasms(tmp_path_factory):
    out = tmp_path_factory.mktemp("wasi-programs")
    return {src.stem: zig_wasm(src, out / f"{src.stem}.wasm", LINK_FLAGS.get(src.stem, ()))
            for src in sorted(PROGRAMS.glob("*.c"))}


@pytest.fixture(scope="session")
def exes(wasms, tmp_path_factory):
    """exes(name, target, env=()): the executable, built once per session."""
    out, built = tmp_path_factory.mktemp("wasi-exe"), {}

    def get(name, target, env=()):
        key = (name, target, env)
        if key not in built:
            built[key] = build_exe(wasms[name], out / f"{name}-{target}-{len(built)}", target,
                                   env=env)
        return built[key]
    return get


@pytest.fixture
def compare(wasms, exes, tmp_path):
    """compare(name, target, args, ...) -> (wasmaot's Outcome, wasmtime's Outcome,
    wasmaot's stderr). `rw` and `ro` are host directories granted as /work
    (read-write) and /ro (read-only); `wasmtime_rw` gives wasmtime its own
    /work so the two runs cannot see each other's files."""
    def run(name, target, args=(), stdin=b"", rw=None, ro=None, build_env=(), run_env=None,
            wasmtime_env=None, wasmtime_rw=None):
        env = dict(run_env or {})
        if rw is not None:
            env["WASMAOT_DIR"] = f"{rw}::/work"
        if ro is not None:
            env["WASMAOT_RO_DIR"] = f"{ro}::/ro"
        exe = exes(name, target, build_env)
        proc = run_exe(exe, target, list(args), stdin, env)
        grants = []
        if rw is not None:
            grants.append(Grant(str(wasmtime_rw or rw), "/work"))
        if ro is not None:
            grants.append(Grant(str(ro), "/ro", readonly=True))
        want = run_wasmtime(wasms[name], list(args), tmp_path / "wasmtime", stdin,
                            tuple(grants), wasmtime_env, argv0=str(exe))
        return outcome(proc), want, proc.stderr
    return run


@pytest.mark.parametrize("target", BOTH)
def test_args_with_unicode(compare, target):
    got, want, _ = compare("args", target, ["plain", "", "with space", "ünïcödé ∑ 名前 🎉",
                                            "--flag=x", "-d", "a\tb"])
    assert got == want


@pytest.mark.parametrize("target", BOTH)
def test_environment_baked_and_passed_from_host(compare, target):
    got, want, _ = compare(
        "env", target, ["BAKED", "PASSED", "ABSENT", "NOT_GRANTED"],
        build_env=("BAKED=baked välue=with=equals", "PASSED", "ABSENT", "EMPTY="),
        run_env={"PASSED": "from the host ✓", "NOT_GRANTED": "secret"},
        wasmtime_env={"BAKED": "baked välue=with=equals", "PASSED": "from the host ✓",
                      "EMPTY": ""})
    assert got == want
    assert b"secret" not in got.stdout


def test_environment_granted_at_run_time(compare):
    got, want, _ = compare("env", X86, ["RUN", "HOSTVAL"],
                           run_env={"WASMAOT_ENV": "RUN=time,HOSTVAL", "HOSTVAL": "hv",
                                    "OTHER": "no"},
                           wasmtime_env={"RUN": "time", "HOSTVAL": "hv"})
    assert got == want


@pytest.mark.parametrize("target", BOTH)
def test_clocks(compare, target):
    got, want, _ = compare("clocks", target)
    assert got == want and b": no" not in got.stdout and b"0 times" in got.stdout


def test_random_get(compare):
    got, want, _ = compare("random", X86)
    assert got == want == want.__class__(b"draws differ: yes\ndraws constant: no\n", 0)


@pytest.mark.parametrize("target", BOTH)
def test_reads_writes_seek_tell_past_4_gib(compare, tmp_path, target):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir(), theirs.mkdir()
    got, want, _ = compare("fileio", target, ["/work"], rw=mine, wasmtime_rw=theirs)
    assert got == want and got.code == 0, got.stdout.decode()
    assert list(mine.iterdir()) == []


@pytest.mark.parametrize("target", BOTH)
def test_stdin_from_a_pipe(compare, target):
    data = b"".join(b"line %d: %s\n" % (i, b"x" * (i % 97)) for i in range(3000))
    got, want, _ = compare("stdin", target, stdin=data)
    assert got == want and got.stdout.startswith(b"bytes=%d " % len(data))


def test_stdin_empty(compare):
    got, want, _ = compare("stdin", X86, stdin=b"")
    assert got == want


@pytest.fixture(scope="session")
def big_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("many")
    for i in range(500):
        (root / f"entry-{i:04d}-{'n' * (i % 40)}").write_bytes(b"")
    (root / "ünïcödé").mkdir()
    return root


@pytest.mark.parametrize("target", BOTH)
def test_readdir_over_500_entries(compare, big_dir, target):
    got, want, _ = compare("readdir", target, ["/ro"], ro=big_dir)
    assert got == want and got.stdout.startswith(b"503 entries\n")


def test_poll_oneoff_clock_timeout(compare):
    got, want, _ = compare("poll", X86)
    assert got == want and b"waited >= timeout: yes" in got.stdout


@pytest.mark.parametrize("target,code", [(X86, c) for c in (0, 1, 3, 42, 100, 125)]
                         + [(ARM, 42)])
def test_exit_code(compare, target, code):
    got, want, _ = compare("exitcode", target, [str(code)])
    assert got == want and got.code == code


@pytest.mark.parametrize("target,kind", [(X86, k) for k in ("unreachable", "oob", "stack", "div")]
                         + [(ARM, "unreachable"), (ARM, "oob")])
def test_trap_exits_134(compare, target, kind):
    got, want, stderr = compare("trap", target, [kind])
    assert got == want and got.code == TRAP_EXIT
    assert stderr.startswith(b"wasm trap: "), stderr[:200]


@pytest.mark.parametrize("target", BOTH)
def test_malloc_until_exhaustion(compare, target):
    got, want, _ = compare("malloc", target)
    assert got == want and got.code == 0
