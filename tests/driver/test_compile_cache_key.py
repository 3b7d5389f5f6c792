"""The compile cache's key covers the compiler's own sources (driver/cache.py):
a changed source file changes it, and the hash of the sources is remembered
(keyed by their names, sizes and times) so that a cached `wasmaot run` does not
read them all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import wasmaot.driver.cache as cache


@pytest.fixture
def sources(tmp_path, monkeypatch):
    pkg, rt = tmp_path / "pkg", tmp_path / "rt"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    rt.mkdir()
    (pkg / "a.py").write_text("A = 1\n")
    (pkg / "sub" / "b.py").write_text("B = 2\n")
    (pkg / "sub" / "__pycache__" / "b.py").write_text("not a source\n")
    (pkg / "notes.txt").write_text("not a source\n")
    (rt / "x.c").write_text("int x;\n")
    monkeypatch.setattr(cache, "PACKAGE_DIR", str(pkg))
    monkeypatch.setattr(cache, "RUNTIME_C_DIR", str(rt))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return pkg, rt


def fingerprint() -> str:
    return cache.compute_fingerprint()


def test_a_changed_source_changes_the_fingerprint(sources):
    pkg, rt = sources
    before = fingerprint()
    assert fingerprint() == before
    path = rt / "x.c"
    path.write_text("int y;\n")  # same size
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert fingerprint() != before


def test_files_that_are_not_sources_do_not_count(sources):
    pkg, _ = sources
    before = fingerprint()
    (pkg / "notes.txt").write_text("changed, longer\n")
    (pkg / "sub" / "__pycache__" / "b.py").write_text("changed, longer\n")
    assert fingerprint() == before


def test_the_hash_is_remembered_and_not_recomputed(sources, monkeypatch):
    pkg, rt = sources
    first = fingerprint()
    memos = list((Path(os.environ["XDG_CACHE_HOME"]) / "wasmaot" / "fingerprints").iterdir())
    assert len(memos) == 1 and memos[0].read_text() == first
    real_open = open

    def no_source_reads(path, *args, **kwargs):
        if str(path).startswith((str(pkg), str(rt))):
            raise AssertionError(f"source read again: {path}")
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr("builtins.open", no_source_reads)
    assert fingerprint() == first


def test_a_damaged_memo_is_ignored(sources):
    first = fingerprint()
    memo, = (Path(os.environ["XDG_CACHE_HOME"]) / "wasmaot" / "fingerprints").iterdir()
    memo.write_text("garbage")
    assert fingerprint() == first


def test_an_unwritable_cache_still_gives_the_fingerprint(sources, monkeypatch, tmp_path):
    first = fingerprint()
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert fingerprint() == first
