"""bench/run.py, the benchmark suite of real programs (issue 11): its --quick smoke run
fetches the pinned sources, builds every program natively, to wasm, with wasmaot and with
wasmtime, and checks that every build prints what native code prints."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_PY = ROOT / "bench" / "run.py"


def load_run_py():
    spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


# The programs CI's smoke run covers: a fresh machine fetches and builds these in well
# under a minute.  Lua (its sdist's metadata step installs Cython), SQLite and zstd
# (megabytes of C, built natively, to wasm and by wasmaot) cost minutes: `bench/run.py
# --quick` runs all five by hand.
SMOKE = ("xxhash", "polykernels")


def test_quick_suite_outputs_match_native():
    """Each smoke program, built every way (and by wasmaot for aarch64, run under qemu),
    prints what native zig cc prints (bench/run.py stops with status 1 on the first
    difference)."""
    load_run_py()
    proc = subprocess.run([sys.executable, str(RUN_PY), "--quick", "--aarch64", "--only",
                           *SMOKE], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=1500, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in SMOKE:
        assert f"ok {name}: " in proc.stdout, proc.stdout
        assert f"ok {name}: the aarch64 build prints what native zig prints" in proc.stdout, \
            proc.stdout
    assert "wasmaot" in proc.stdout and "native zig" in proc.stdout
    # a smoke run never reports timings as results
    assert "geomean" not in proc.stdout and "wasmaot/native" not in proc.stdout


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _fake_registry(bench, monkeypatch, tmp_path, archive_bytes: bytes):
    monkeypatch.setattr(bench, "SOURCES", tmp_path / "sources")

    def download(a, into: Path) -> Path:
        out = into / f"{a.package}-{a.version}.tar.gz"
        out.write_bytes(archive_bytes)
        return out
    monkeypatch.setattr(bench, "download", download)


def test_fetched_archive_with_another_sha256_is_refused(monkeypatch, tmp_path):
    """A registry file that is not the pinned one (re-published, tampered) stops the bench
    and leaves nothing in the source cache."""
    bench = load_run_py()
    data = _tar_bytes({"pkg-1.0/a.c": b"int a;\n"})
    _fake_registry(bench, monkeypatch, tmp_path, data)
    pinned = bench.Archive("pypi", "pkg", "1.0", "0" * 64)
    with pytest.raises(bench.BenchError, match="sha256"):
        bench.fetch(pinned)
    assert not (tmp_path / "sources" / pinned.key).exists()


def test_fetched_archive_is_unpacked_once_and_reused(monkeypatch, tmp_path):
    bench = load_run_py()
    data = _tar_bytes({"pkg-1.0/a.c": b"int a;\n"})
    _fake_registry(bench, monkeypatch, tmp_path, data)
    pinned = bench.Archive("pypi", "pkg", "1.0", hashlib.sha256(data).hexdigest())
    root = bench.fetch(pinned)
    assert (root / "pkg-1.0" / "a.c").read_bytes() == b"int a;\n"
    monkeypatch.setattr(bench, "download", lambda a, into: pytest.fail("fetched again"))
    assert bench.fetch(pinned) == root


def test_archive_escaping_its_directory_is_refused(monkeypatch, tmp_path):
    """Unpacking uses tarfile's data filter: a member outside the destination stops the
    bench with one line, not a traceback, and nothing is written outside."""
    bench = load_run_py()
    data = _tar_bytes({"../escape.c": b"int a;\n"})
    _fake_registry(bench, monkeypatch, tmp_path, data)
    pinned = bench.Archive("pypi", "pkg", "1.0", hashlib.sha256(data).hexdigest())
    with pytest.raises(bench.BenchError, match="unpacking"):
        bench.fetch(pinned)
    assert not (tmp_path / "escape.c").exists()


def test_output_differing_from_native_stops_the_bench(tmp_path):
    """check_outputs compares every candidate's stdout with the first's, byte for byte."""
    bench = load_run_py()
    program = bench.BY_NAME["polykernels"]
    same = [("native zig", ["/bin/echo", "1"]), ("wasmaot", ["/bin/echo", "1"])]
    assert bench.check_outputs(program, same, ("x",), tmp_path) == b"1 x\n"
    differs = [*same, ("wasmtime", ["/bin/echo", "2"])]
    with pytest.raises(bench.BenchError, match="wasmtime's output differs"):
        bench.check_outputs(program, differs, ("x",), tmp_path)
