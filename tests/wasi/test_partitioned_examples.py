"""Large modules compile in partitions, and within each partition in two tiers
(codegen/partition.py): tiny functions that nothing calls directly apart.  The examples are small, so they normally
compile in one piece; here the partition size is forced down so that each is
cut into many partitions and tiers, and the executables must still behave as
wasmtime does (calls, tables, exceptions across partitions and tiers)."""

from __future__ import annotations

import pytest
from wasi_run import REPO, TARGETS, Grant, build_exe, outcome, run_exe, run_wasmtime, zig_wasm

import wasmaot.driver.compile as compile_mod
from wasmaot.codegen.partition import partition_functions, split_tiers
from wasmaot.driver.compile import frontend

GUEST = "/data"
CASES = {
    "sha256sum": ([f"{GUEST}/a.txt", f"{GUEST}/b.bin"], b""),
    "compress": ([], b"abcabcabcabc" * 300 + bytes(range(256)) * 4 + b"tail"),
    "wc": ([GUEST], b""),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    (root / "a.txt").write_text("one two three\nfour  five\n\nsix\n" * 40)
    (root / "b.bin").write_bytes(bytes(range(256)) * 80)
    return root


@pytest.fixture(scope="module")
def wasms(tmp_path_factory):
    out = tmp_path_factory.mktemp("partitioned-wasm")
    return {name: zig_wasm(REPO / f"examples/{name}/{name}.c", out / f"{name}.wasm")
            for name in CASES}


def test_the_examples_have_both_tiers(wasms):
    """Otherwise the test below would not exercise the tiny tier's code."""
    for name, wasm in wasms.items():
        module, ctx = frontend(wasm)
        first = module.num_imported_funcs
        full, tiny = split_tiers(module, ctx, list(range(first, first + len(module.codes))))
        assert full and tiny, (name, len(full), len(tiny))


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", list(CASES))
def test_partitioned_build_matches_wasmtime(wasms, tree, tmp_path, monkeypatch, name, target):
    monkeypatch.setattr(compile_mod, "PARTITION_BYTES", 512)
    assert len(partition_functions(*frontend(wasms[name]), 512)) >= 8
    grant = (Grant(str(tree), GUEST),)
    exe = build_exe(wasms[name], tmp_path / name, target, dirs=grant)
    args, stdin = CASES[name]
    got = outcome(run_exe(exe, target, args, stdin))
    assert got == run_wasmtime(wasms[name], args, tmp_path, stdin, dirs=grant)
    assert got.code == 0
