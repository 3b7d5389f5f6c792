"""WASI preview1 functions (issue 4, item 11), exercised by the C programs in
programs/ and compared with wasmtime on stdout, exit code and trap message.
Every test runs the x86-64 build natively and the aarch64 build under qemu
(the `target` fixture); together the programs call all 46 functions
(test_every_wasi_function_is_exercised).

The reference is wasmtime-py with WASI configured as the executable's grants,
except for sockets: only the `wasmtime` CLI can preopen a TCP listener.

Directories are granted at run time (WASMAOT_DIR / WASMAOT_RO_DIR), so one
executable per program and target serves every test; the environment test
bakes its grants at build time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from wasi_run import (
    PROGRAMS,
    TARGETS,
    TRAP_EXIT,
    WASMTIME_ERROR_EXIT,
    Grant,
    Outcome,
    build_exe,
    exe_command,
    free_loopback_port,
    outcome,
    run_exe,
    run_wasmtime,
    tcp_dialogue,
    wasmtime_cli,
    zig_wasm,
)

from wasmaot.driver import wasi
from wasmaot.wasm import decode_module

LINK_FLAGS = {"malloc": ("-Wl,--max-memory=67108864",)}  # exhaustion at 64 MiB, not 4 GiB
# escape.c belongs to test_sandbox_escapes.py and grants.c to test_grant_bytes.py,
# which build and check them.
NOT_OURS = {"escape", "grants"}
TRAP_KINDS = ["unreachable", "oob", "stack", "div", "div64", "rem", "overflow", "convert-nan",
              "convert-range", "call-mismatch", "call-null", "call-oob"]


@pytest.fixture(scope="session")
def wasm_files(tmp_path_factory):
    """{program: its .wasm path}, compiled by zig two at a time."""
    out = tmp_path_factory.mktemp("wasi-programs")
    sources = [src for src in sorted(PROGRAMS.glob("*.c")) if src.stem not in NOT_OURS]

    def compile_one(src):
        path = out / f"{src.stem}.wasm"
        zig_wasm(src, path, LINK_FLAGS.get(src.stem, ()))
        return src.stem, path
    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(compile_one, sources))


@pytest.fixture(scope="session")
def wasms(wasm_files):
    return {name: path.read_bytes() for name, path in wasm_files.items()}


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


@pytest.fixture(params=TARGETS)
def target(request):
    return request.param


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


def test_args_with_unicode(compare, target):
    got, want, _ = compare("args", target, ["plain", "", "with space", "ünïcödé ∑ 名前 🎉",
                                            "--flag=x", "-d", "a\tb"])
    assert got == want and got.code == 0
    assert "ünïcödé ∑ 名前 🎉".encode() in got.stdout


def test_environment_baked_and_passed_from_host(compare, target):
    got, want, _ = compare(
        "env", target, ["BAKED", "PASSED", "ABSENT", "NOT_GRANTED"],
        build_env=("BAKED=baked välue=with=equals", "PASSED", "ABSENT", "EMPTY="),
        run_env={"PASSED": "from the host ✓", "NOT_GRANTED": "secret"},
        wasmtime_env={"BAKED": "baked välue=with=equals", "PASSED": "from the host ✓",
                      "EMPTY": ""})
    assert got == want and got.code == 0
    assert b"secret" not in got.stdout


def test_environment_granted_at_run_time(compare, target):
    got, want, _ = compare("env", target, ["RUN", "HOSTVAL"],
                           run_env={"WASMAOT_ENV": "RUN=time,HOSTVAL", "HOSTVAL": "hv",
                                    "OTHER": "no"},
                           wasmtime_env={"RUN": "time", "HOSTVAL": "hv"})
    assert got == want and got.stdout.startswith(b"2 variables\n")


def test_clocks_monotonic_realtime_resolution_and_sleep(compare, target):
    got, want, _ = compare("clocks", target)
    assert got == want and b": no" not in got.stdout and b"0 times" in got.stdout


def test_random_get_draws_differ(compare, target):
    got, want, _ = compare("random", target)
    assert got == want == Outcome(b"draws differ: yes\ndraws constant: no\n", 0)


def test_reads_writes_seek_tell_past_4_gib(compare, tmp_path, target):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir(), theirs.mkdir()
    got, want, _ = compare("fileio", target, ["/work"], rw=mine, wasmtime_rw=theirs)
    assert got == want and got.code == 0, got.stdout.decode()
    assert list(mine.iterdir()) == []


def test_path_functions_and_file_metadata(compare, tmp_path, target):
    """paths.c: directories, links, symlinks, rename, unlink, stat and times
    by path and by fd, sizes, flags, renumber, prestat, sync, advise."""
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir(), theirs.mkdir()
    got, want, _ = compare("paths", target, ["/work"], rw=mine, wasmtime_rw=theirs)
    assert got == want and got.code == 0, got.stdout.decode()
    assert b": other" not in got.stdout  # the normalised results are "0 or NOTSUP"
    assert b"atim as set: yes, mtim as set: yes" in got.stdout
    assert list(mine.iterdir()) == []


# Sections of conformance.c where wasmtime takes the official program's other
# branch: it answers NOTSUP to fd_fdstat_set_rights and fd_allocate, which the
# suite accepts (and then skips the rights tests), while wasmaot implements both
# and so runs every assertion.  wasmtime's lines there, exactly:
WASMTIME_OTHER_BRANCH = {
    "fd_fdstat_set_rights": ["fd_fdstat_set_rights: make the scratch directory: ok",
                             "fd_fdstat_set_rights: skipped: the host does not support rights"],
    "truncation_rights": [],
    "file_allocate": ["file_allocate: create: ok", "file_allocate: fd_allocate: ok"],
}


def by_test(stdout: bytes) -> dict[str, list[str]]:
    """conformance.c's lines grouped by official test name (the first field)."""
    out: dict[str, list[str]] = {}
    for line in stdout.decode().splitlines():
        out.setdefault(line.split(": ", 1)[0], []).append(line)
    return out


@pytest.fixture(scope="session")
def conformance_in_wasmtime(wasms, tmp_path_factory):
    """wasmtime's run of conformance.c, the same for every target: run once."""
    root = tmp_path_factory.mktemp("conformance-wasmtime")
    rw, ro = root / "rw", root / "ro"
    rw.mkdir(), ro.mkdir()
    want = run_wasmtime(wasms["conformance"], ["/work", "/ro"], root / "scratch",
                        dirs=(Grant(str(rw), "/work"), Grant(str(ro), "/ro", readonly=True)))
    assert list(rw.iterdir()) == []
    return want


def test_official_wasi_testsuite_assertions(exes, conformance_in_wasmtime, tmp_path, target):
    """conformance.c: the assertions of wasi-testsuite's preview1 programs
    (path_link, path_open_preopen, the trailing-slash, symlink, rights,
    directory-fd, readdir and stdio tests, ...) pass in wasmaot and print what
    wasmtime prints; so do link/rename/symlink with a slash on either name, in
    every case."""
    mine, ro = tmp_path / "mine", tmp_path / "ro"
    mine.mkdir(), ro.mkdir()
    got = outcome(run_exe(exes("conformance", target), target, ["/work", "/ro"],
                          env={"WASMAOT_DIR": f"{mine}::/work", "WASMAOT_RO_DIR": f"{ro}::/ro"}))
    want = conformance_in_wasmtime
    assert got.code == want.code == 0
    assert [line for line in got.stdout.decode().splitlines() if ": FAIL" in line] == []
    assert b": FAIL" not in want.stdout  # the reference passes the suite too
    ours, theirs = by_test(got.stdout), by_test(want.stdout)
    for name, lines in WASMTIME_OTHER_BRANCH.items():
        assert theirs.pop(name, []) == lines
        assert len(ours.pop(name)) >= 5  # every assertion ran
    assert ours == theirs
    assert len(ours["linux"]) == 9 * 9 * 2 + 9 and len(ours["stdio"]) == 4
    assert list(mine.iterdir()) == []


def test_stdin_from_a_pipe(compare, target):
    data = b"".join(b"line %d: %s\n" % (i, b"x" * (i % 97)) for i in range(3000))
    got, want, _ = compare("stdin", target, stdin=data)
    assert got == want and got.stdout.startswith(b"bytes=%d " % len(data))


def test_stdin_empty(compare, target):
    got, want, _ = compare("stdin", target, stdin=b"")
    assert got == want and got.stdout.startswith(b"bytes=0 lines=0 ")


@pytest.fixture(scope="session")
def big_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("many")
    for i in range(500):
        (root / f"entry-{i:04d}-{'n' * (i % 40)}").write_bytes(b"")
    (root / "ünïcödé").mkdir()
    return root


def test_readdir_over_500_entries(compare, big_dir, target):
    got, want, _ = compare("readdir", target, ["/ro"], ro=big_dir)
    assert got == want and got.stdout.startswith(b"503 entries\n")


def test_poll_oneoff_clock_timeouts_and_ready_fds(compare, target):
    got, want, _ = compare("poll", target, stdin=b"ready to be read\n")
    assert got == want and got.code == 0, got.stdout.decode()
    assert b"waited >= 30 ms: yes" in got.stdout
    assert b"stdin readable, stdout writable, clock 10 s: errno 0, 2 events" in got.stdout


@pytest.fixture(scope="session")
def exit_codes(exes, wasms, tmp_path_factory):
    """exit_codes(target) -> (wasmaot's Outcomes, wasmtime's Outcomes) for
    exitcode.c with every status 0-255 (wasmtime's computed once)."""
    scratch, theirs, mine = tmp_path_factory.mktemp("wasmtime-exit"), [], {}

    def get(target):
        exe = exes("exitcode", target)
        if target not in mine:
            with ThreadPoolExecutor(2) as pool:
                mine[target] = [outcome(proc) for proc in
                                pool.map(lambda code: run_exe(exe, target, [str(code)]),
                                         range(256))]
        if not theirs:
            theirs.extend(run_wasmtime(wasms["exitcode"], [str(code)], scratch, argv0="exitcode")
                          for code in range(256))
        return mine[target], theirs
    return get


def test_every_exit_code_below_126_as_wasmtime(exit_codes, target):
    mine, theirs = exit_codes(target)
    assert [o.code for o in mine[:126]] == list(range(126))
    assert mine[:126] == theirs[:126]


def test_exit_codes_126_to_255_pass_through_where_wasmtime_refuses_them(exit_codes, target):
    """A deliberate difference (runtime_c/wasi/proc.c): wasmtime fails
    proc_exit(n >= 126) with an error (the CLI exits 1); wasmaot exits n."""
    mine, theirs = exit_codes(target)
    assert [o.code for o in mine[126:]] == list(range(126, 256))
    assert [o.stdout for o in mine[126:]] == [o.stdout for o in theirs[126:]]
    assert {(o.code, o.trap) for o in theirs[126:]} == {
        (WASMTIME_ERROR_EXIT, "exit with invalid exit status outside of [0..126)")}


@pytest.mark.parametrize("kind", TRAP_KINDS)
def test_trap_exits_134_with_wasmtimes_message(compare, target, kind):
    got, want, stderr = compare("trap", target, [kind])
    assert got == want and got.code == TRAP_EXIT
    assert got.stdout == b"about to trap: %s\n" % kind.encode()  # flushed before the trap
    assert stderr.startswith(b"wasm trap: "), stderr[:200]


def test_trap_kinds_have_distinct_messages(wasms, tmp_path):
    """The trap programs really trap in different ways (the test above would
    pass if every kind ended at the same `unreachable`)."""
    traps = {run_wasmtime(wasms["trap"], [kind], tmp_path).trap for kind in TRAP_KINDS}
    assert len(traps) >= 8, traps


def test_malloc_until_exhaustion(compare, target):
    got, want, _ = compare("malloc", target)
    assert got == want and got.code == 0


def test_tcp_server_accept_recv_send_shutdown(wasm_files, exes, target):
    """sockets.c on a granted listener, against the `wasmtime` CLI's
    --tcplisten (its legacy preview1 implementation: -S preview2=n)."""
    request = "ping ünïcödé\n".encode() * 5000
    port = free_loopback_port()
    got = tcp_dialogue(exe_command(exes("sockets", target), target), port, request,
                       env={"WASMAOT_TCP_LISTEN": f"127.0.0.1:{port}"})
    port = free_loopback_port()
    want = tcp_dialogue([wasmtime_cli(), "run", "-S", "preview2=n", "-S",
                         f"tcplisten=127.0.0.1:{port}", str(wasm_files["sockets"])],
                        port, request)
    assert got == want, got.outcome.stdout.decode()
    assert got.outcome.code == 0 and got.greeting == b"hello\n"
    assert got.reply.startswith(b"got %d bytes" % len(request))


def test_every_wasi_function_is_exercised(wasms):
    imported = {imp.name for wasm in wasms.values() for imp in decode_module(wasm).imports
                if imp.module == wasi.MODULE}
    assert len(wasi.functions()) == 46
    assert sorted(set(wasi.functions()) - imported) == []
