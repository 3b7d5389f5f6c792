"""examples/ (issue 4, item 10): each example compiled to wasm with zig, built
by wasmaot for x86-64 (run natively) and aarch64 (under qemu), and compared
with wasmtime on stdout and exit code, with the same directory tree granted
as the preopen /data on both sides."""

from __future__ import annotations

import hashlib
import random

import pytest
from wasi_run import (
    REPO,
    TARGETS,
    Grant,
    build_exe,
    outcome,
    run_exe,
    run_wasmtime,
    zig_wasm,
)

EXAMPLES = ["hello", "cat", "wc", "sha256sum", "compress"]
GUEST = "/data"


@pytest.fixture(scope="session")
def tree(tmp_path_factory):
    """The granted directory: text, binary, empty and non-ASCII names, nested."""
    root = tmp_path_factory.mktemp("tree")
    rng = random.Random(4)
    (root / "sub/deep").mkdir(parents=True)
    (root / "empty-dir").mkdir()
    (root / "a.txt").write_text("one two three\nfour  five\n\nsix\n")
    (root / "sub/b.txt").write_text("the quick brown fox\njumps over\tthe lazy dog")
    (root / "sub/deep/c.bin").write_bytes(bytes(rng.randrange(256) for _ in range(20000)))
    (root / "sub/empty").write_bytes(b"")
    (root / "ünïcödé.txt").write_text("größe ∑ 名前\n" * 50)
    return root


@pytest.fixture(scope="session")
def wasms(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples-wasm")
    return {name: zig_wasm(REPO / f"examples/{name}/{name}.c", out / f"{name}.wasm")
            for name in EXAMPLES}


@pytest.fixture(scope="session")
def exes(wasms, tree, tmp_path_factory):
    """exes(name, target): the executable, built once per session."""
    out, built = tmp_path_factory.mktemp("examples-exe"), {}

    def get(name, target):
        if (name, target) not in built:
            built[name, target] = build_exe(wasms[name], out / f"{name}-{target}", target,
                                            dirs=(Grant(str(tree), GUEST),))
        return built[name, target]
    return get


CASES = {
    "hello": [([], b""), (["42", "two words", "ünïcode"], b"")],
    "cat": [([f"{GUEST}/a.txt", f"{GUEST}/ünïcödé.txt", f"{GUEST}/sub/deep/c.bin"], b""),
            ([], b"from stdin\n"),
            ([f"{GUEST}/missing", f"{GUEST}/a.txt"], b""),
            (["/etc/passwd"], b"")],  # outside the grant: refused, exit 1
    "wc": [([GUEST], b""), ([f"{GUEST}/sub", f"{GUEST}/empty-dir"], b""),
           ([f"{GUEST}/nope"], b"")],
    "sha256sum": [([f"{GUEST}/a.txt", f"{GUEST}/sub/empty", f"{GUEST}/sub/deep/c.bin"], b""),
                  ([], b"abc")],
    "compress": [([], b"abcabcabcabc" * 300 + bytes(range(256)) * 4 + b"tail"),
                 ([], b""), (["-x"], b"")],
}
PARAMS = [pytest.param(name, args, stdin, target, id=f"{name}-{i}-{target}")
          for name, cases in CASES.items() for i, (args, stdin) in enumerate(cases)
          for target in TARGETS]


@pytest.mark.parametrize("name,args,stdin,target", PARAMS)
def test_example_matches_wasmtime(wasms, exes, tree, tmp_path, target, name, args, stdin):
    got = outcome(run_exe(exes(name, target), target, args, stdin))
    want = run_wasmtime(wasms[name], args, tmp_path, stdin, dirs=(Grant(str(tree), GUEST),))
    assert got == want


def test_sha256sum_agrees_with_hashlib(exes, tree):
    files = ["a.txt", "sub/empty", "sub/deep/c.bin", "ünïcödé.txt"]
    got = run_exe(exes("sha256sum", "x86_64-linux"), "x86_64-linux",
                  [f"{GUEST}/{f}" for f in files])
    want = "".join(f"{hashlib.sha256((tree / f).read_bytes()).hexdigest()}  {GUEST}/{f}\n"
                   for f in files)
    assert (got.stdout.decode(), got.returncode) == (want, 0)


@pytest.mark.parametrize("target", TARGETS)
def test_compress_round_trips(exes, tree, target):
    data = b"".join(p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file())
    exe = exes("compress", target)
    packed = run_exe(exe, target, [], data)
    assert packed.returncode == 0 and len(packed.stdout) < len(data)
    unpacked = run_exe(exe, target, ["-d"], packed.stdout)
    assert (unpacked.stdout, unpacked.returncode) == (data, 0)
