"""The differential farm's past findings (tools/diff_farm/repros/*.wasm, each with a
note beside it) rerun against wasmtime on the variants where they failed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.diff_farm.harness import Case, Variant, run_case

REPROS = Path(__file__).resolve().parents[2] / "tools" / "diff_farm" / "repros"

# repro -> (config, seed, variants): the case's call plan comes from config and seed.
CASES = {
    "store-lost-before-faulting-load": ("bulk-memory", 34540,
                                        ("aarch64-O2", "x86_64-O2", "x86_64-O0")),
}


def test_every_binary_repro_is_rerun():
    assert {p.stem for p in REPROS.glob("*.wasm")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_repro_matches_wasmtime(name, tmp_path):
    config, seed, variants = CASES[name]
    assert shutil.which("qemu-aarch64-static"), "make test installs qemu-user-static"
    wasm = (REPROS / f"{name}.wasm").read_bytes()
    report = run_case(Case(config, seed), [Variant.parse(v) for v in variants], wasm, tmp_path)
    bad = [f"{r.variant}: {r.status}: {r.reason}" for r in report.results if r.status != "ok"]
    assert not bad, "\n".join(bad)
