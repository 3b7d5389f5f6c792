"""The CI slice of the differential farm (tools/diff_farm): smith modules of every
config preset, run on wasmtime and on wasmaot at -O0 and -O2 (and a few on aarch64
under qemu, or as an executable's module), compared call by call and state by state.

Each case is a test: it fails on a mismatch, a hang, a crash or an error that is not
a known bug (tools/diff_farm/known.py, counted and printed apart).  The farm runs once
per session with two workers; conftest.py prints its summary line per config.

Scale: `WASMAOT_DIFF_SCALE` cases (default 20 per preset of configs.DEFAULT_CONFIGS,
the SIMD and exception presets included: 260, about 2 minutes);
`WASMAOT_DIFF_FIRST` shifts the seeds; `WASMAOT_DIFF_VARIANTS` (default
x86_64-O0,x86_64-O2), `WASMAOT_DIFF_AARCH64` (share, default 0.02),
`WASMAOT_DIFF_EXPLICIT` (share on x86_64-O2-explicit, default 0.05) and
`WASMAOT_DIFF_EXE` (share on x86_64-O2-exe / -O0-exe, default 0.05) say where wasmaot
runs.  A failure writes a repro directory (module, text, note, shrink
predicate) and prints it.  The farm itself: `python -m tools.diff_farm --help`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.diff_farm import farm
from tools.diff_farm.configs import DEFAULT_CONFIGS, PRESETS

SCALE = int(os.environ.get("WASMAOT_DIFF_SCALE", str(20 * len(DEFAULT_CONFIGS))))
FIRST = int(os.environ.get("WASMAOT_DIFF_FIRST", "0"))
VARIANTS = tuple(os.environ.get("WASMAOT_DIFF_VARIANTS", "x86_64-O0,x86_64-O2").split(","))
AARCH64 = float(os.environ.get("WASMAOT_DIFF_AARCH64", "0.02"))
EXPLICIT = float(os.environ.get("WASMAOT_DIFF_EXPLICIT", "0.05"))
EXE = float(os.environ.get("WASMAOT_DIFF_EXE", "0.05"))
CONFIGS = DEFAULT_CONFIGS
CASES = farm.cases_of(FIRST, SCALE, CONFIGS)

# The session's farm results; conftest.py prints their summary.
RESULTS: dict = {}


@pytest.fixture(scope="session")
def slice_results(tmp_path_factory) -> dict:
    out = Path(tmp_path_factory.mktemp("diff-farm"))
    fc = farm.FarmConfig(CONFIGS, VARIANTS, AARCH64, timeout=120.0, out=out,
                         explicit_share=EXPLICIT, exe_share=EXE)
    f = farm.Farm(fc)
    f.run(CASES, jobs=2)
    for report, outcome in f.reports:
        RESULTS[report.case.key] = (report, outcome)
    RESULTS["_out"] = out
    return RESULTS


def test_every_preset_is_in_the_slice():
    assert set(CONFIGS) <= set(PRESETS)
    assert {c.config for c in CASES} == set(CONFIGS) or SCALE < len(CONFIGS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key)
def test_matches_wasmtime(case, slice_results: dict) -> None:
    report, outcome = slice_results[case.key]
    if outcome == "skipped":
        pytest.skip("; ".join(f"{r.variant}: {r.reason}" for r in report.results))
    if outcome not in ("mismatch", "hang", "crash", "error"):
        return  # agree, known (counted apart), inconclusive, nomodule, refused
    out = slice_results["_out"]
    lines = [f"{outcome}: {report.reason}"]
    for r in report.results:
        if r.status != "ok" and not r.known:
            lines.append(f"{r.variant}: {r.status}: {r.reason}")
            d = out / "repros" / f"{case.config}-{case.seed}-{r.variant}"
            if d.exists():
                lines.append(f"repro: {d} (note.md says how to rerun and shrink)")
    pytest.fail("\n".join(lines), pytrace=False)
