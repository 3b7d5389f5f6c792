"""Rebuilds reuse compiled work (driver/reuse.py, codegen/partition.py).

What must hold: a rebuild's output is byte-for-byte a clean build's; an edit to one
function changes its partition (and at most the next), never the others, so only those
are compiled again; an unchanged rebuild only copies the remembered executable; every
option that changes the executable changes the key; --no-cache remembers and reuses
nothing; the stores stay bounded; a cache that cannot be written is no error."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import wasmaot.commands.build as build_cmd
import wasmaot.driver.compile as compile_mod
from wasmaot.codegen.partition import function_weight, partition_functions
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver import reuse
from wasmaot.driver.compile import CompileRequest, compile_module, frontend
from wasmaot.driver.grants import Grant
from wasmaot.driver.wat import wat_bytes_to_wasm

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import shapes  # noqa: E402  (bench/shapes.py: the module generators)

I32 = 0x7F


def _module(sizes: list[int], edited: int | None = None) -> bytes:
    """Functions (i32) -> i32 adding `size` constants each (4-6 bytes an add, no loop:
    a body of 40 bytes or more is never tiny), then _start calling the first.  The
    function `edited` adds 7 instead of 1: the same size, other code."""
    types = [shapes.functype(bytes([I32]), bytes([I32])), shapes.VOID_FUNC]
    bodies = []
    for i, n in enumerate(sizes):
        k = 7 if i == edited else 1
        code = b"\x20\x00" + (shapes.i32_const(k) + b"\x6a") * n
        bodies.append(shapes.body(b"\x00", code))
    bodies.append(shapes.body(b"\x00", shapes.i32_const(0) + b"\x10\x00\x1a"))
    return shapes.Parts(types, [0] * len(sizes) + [1], bodies, len(sizes)).encode()


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """The reuse stores in a directory of this test's."""
    monkeypatch.setattr(reuse, "cache_dir", lambda: str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def store(own_cache, monkeypatch):
    """The reuse stores in a directory of this test's, and the objects of every
    module remembered."""
    monkeypatch.setattr(reuse, "REMEMBER_CODE_BYTES", 0)
    return own_cache


def _partitions(data: bytes, chunk: int) -> list[tuple[int, ...]]:
    return [tuple(p) for p in partition_functions(*frontend(data), chunk)]


def test_an_edit_to_one_function_changes_its_partition_and_few_after_it():
    """The runs an edit changes are its own and the next ones up to the first cut
    both versions make: about two on average, never one before it."""
    rng = random.Random(11)
    changes = []
    for _ in range(40):
        sizes = [rng.randrange(10, 200) for _ in range(300)]
        before = _partitions(_module(sizes), 4096)
        assert len(before) >= 8
        f = rng.randrange(len(sizes))
        grown = list(sizes)
        grown[f] += rng.randrange(1, 60)  # an edit that also moves every later byte
        after = _partitions(_module(grown), 4096)
        changed = [p for p in before if p not in after]
        home = next(k for k, p in enumerate(before) if f in p)
        assert [before.index(p) for p in changed] == list(range(home, home + len(changed)))
        changes.append(len(changed))
    assert sum(changes) / len(changes) <= 2.5, changes


def test_partitions_weigh_about_the_chunk_and_cover_every_function_once():
    rng = random.Random(5)
    sizes = [rng.randrange(10, 200) for _ in range(400)]
    module, ctx = frontend(_module(sizes))
    parts = partition_functions(module, ctx, 4096)
    assert [f for p in parts for f in p] == list(range(len(module.codes)))
    for part in parts[:-1]:
        assert 4096 // 4 <= sum(function_weight(module, ctx, f) for f in part) < 2 * 4096 + 1200
    assert partition_functions(module, ctx, 1 << 20) == [list(range(len(module.codes)))]


def _compile(data: bytes, reuse_objects: bool = True):
    return compile_module(data, CompileRequest(reuse_objects=reuse_objects), jobs=2)


def test_a_rebuild_after_an_edit_compiles_one_partition_and_equals_a_clean_build(
        store, monkeypatch):
    monkeypatch.setattr(compile_mod, "PARTITION_BYTES", 2048)
    rng = random.Random(3)
    sizes = [rng.randrange(10, 60) for _ in range(120)]
    first, stats = _compile(_module(sizes))
    assert stats.partitions >= 4 and stats.objects_reused == 0
    again, stats = _compile(_module(sizes))
    assert again == first and stats.objects_reused == len(first)  # (no image: no data)
    edited = _module(sizes, edited=50)
    objects, stats = _compile(edited)
    assert stats.objects_reused == len(first) - 1  # all but the edited one
    clean, _ = _compile(edited, reuse_objects=False)
    assert objects == clean and objects != first


def test_nothing_is_remembered_without_reuse_or_for_small_modules(store, monkeypatch):
    monkeypatch.setattr(compile_mod, "PARTITION_BYTES", 2048)
    data = _module([30] * 100)
    _compile(data, reuse_objects=False)
    assert not store.exists()
    monkeypatch.setattr(reuse, "REMEMBER_CODE_BYTES", len(data))
    _compile(data)
    assert not store.exists()


WAT = b'(module (func (export "_start")) (memory 1) (data (i32.const 0) "x"))'


def test_an_unchanged_rebuild_copies_the_executable_without_compiling(own_cache, tmp_path,
                                                                       monkeypatch):
    """Whatever the module's size: this one has a few bytes of code (its objects are
    not remembered, they are cheap to make again)."""
    data = wat_bytes_to_wasm(WAT)
    first = build(data, tmp_path / "first", BuildOptions()).read_bytes()
    assert len(list((own_cache / reuse.BUILDS).iterdir())) == 1
    assert not (own_cache / reuse.OBJECTS).exists()

    def no_compiling(_data):
        raise AssertionError("compiled again")

    monkeypatch.setattr(compile_mod, "frontend", no_compiling)
    again = build(data, tmp_path / "again", BuildOptions())
    assert again.read_bytes() == first and again.stat().st_mode & 0o777 == 0o755
    # Every option the executable depends on is in the key: these compile again.
    for opts in (BuildOptions(env=("A=1",)), BuildOptions(dirs=(Grant(str(tmp_path), "/d"),)),
                 BuildOptions(opt_level=1), BuildOptions(strip=False),
                 BuildOptions(max_memory=1 << 20), BuildOptions(target="aarch64-linux")):
        with pytest.raises(AssertionError, match="compiled again"):
            build(data, tmp_path / "other", opts)
    with pytest.raises(AssertionError, match="compiled again"):
        build(data, tmp_path / "other", BuildOptions(cache=False))


def test_a_store_past_its_bound_loses_its_least_recently_used_entries(store, monkeypatch):
    monkeypatch.setattr(reuse, "MAX_STORE_BYTES", 1000)
    for k in range(3):
        reuse.save(reuse.OBJECTS, f"k{k}", bytes(300 - 32))  # 300 with the checksum
        os.utime(store / reuse.OBJECTS / f"k{k}", (1000 * (k + 1),) * 2)
    assert reuse.load(reuse.OBJECTS, "k0") == bytes(268)  # used now: k1 is the oldest
    reuse.save(reuse.OBJECTS, "k3", bytes(268))  # 1200 bytes: down to 750 at most
    assert sorted(p.name for p in (store / reuse.OBJECTS).iterdir()) == ["k0", "k3"]


def test_a_damaged_entry_is_a_miss_and_is_deleted(store):
    reuse.save(reuse.OBJECTS, "k", b"object bytes")
    assert reuse.load(reuse.OBJECTS, "k") == b"object bytes"
    path = store / reuse.OBJECTS / "k"
    for damaged in (path.read_bytes()[:-1], path.read_bytes()[:10], b""):
        path.write_bytes(damaged)
        assert reuse.load(reuse.OBJECTS, "k") is None and not path.exists()
        reuse.save(reuse.OBJECTS, "k", b"object bytes")


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    monkeypatch.setattr(reuse, "cache_dir", lambda: str(blocker))
    reuse.save(reuse.OBJECTS, "k", b"x")
    assert reuse.load(reuse.OBJECTS, "k") is None


HIT_PROBE = """
import sys
from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver import reuse
reuse.cache_dir = lambda: sys.argv[2]
build(sys.stdin.buffer.read(), sys.argv[1], BuildOptions())
print(" ".join(sorted(m for m in sys.modules if m.startswith("wasmaot."))))
"""


def test_an_unchanged_rebuild_imports_no_compile_pipeline(tmp_path):
    """The remembered executable is found before decoding, lowering or linking is
    imported (they were most of a small rebuild's time); the second process must
    not load them."""
    data = wat_bytes_to_wasm(WAT)
    loaded = []
    for out in ("first", "again"):
        done = subprocess.run([sys.executable, "-c", HIT_PROBE, str(tmp_path / out),
                               str(tmp_path / "cache")], input=data, capture_output=True,
                              check=True)
        loaded.append(set(done.stdout.decode().split()))
    pipeline = {"wasmaot.driver.compile", "wasmaot.wasm.decoder", "wasmaot.codegen.module",
                "wasmaot.driver.build_config", "wasmaot.driver.link"}
    assert pipeline <= loaded[0]  # the probe sees what a build imports
    assert not pipeline & loaded[1], pipeline & loaded[1]
    assert (tmp_path / "again").read_bytes() == (tmp_path / "first").read_bytes()
