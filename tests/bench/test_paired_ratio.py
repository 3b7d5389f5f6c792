"""bench/run.py's paired ratio: each round's wasmaot time over the best native's in the
same round, then the median.  A slow phase of the machine that spans a whole round must
cancel out of it; a ratio of medians does not cancel it."""

from __future__ import annotations

import pytest
from test_suite_quick import load_run_py

run = load_run_py()


def test_a_slow_phase_cancels_out_of_the_paired_ratio():
    native = [1.0, 1.0, 2.0, 2.0, 2.0]  # the last three rounds ran at half speed
    wasmaot = [1.2, 1.2, 2.4, 2.4, 2.4]
    assert run.paired_ratio(wasmaot, native) == pytest.approx(1.2)


def test_the_paired_ratio_is_the_median_of_the_rounds_ratios():
    assert run.paired_ratio([3.0, 1.0, 10.0], [1.0, 1.0, 1.0]) == pytest.approx(3.0)


def test_the_table_shows_both_ratios_and_their_geomeans():
    rounds = {"native zig": {"wall": [1.0, 2.0, 1.0]}, "native gcc": {"wall": [1.5, 2.5, 1.5]},
              "wasmaot": {"wall": [1.1, 2.2, 1.1]}, "wasmtime": {"wall": [2.0, 4.0, 2.0]}}
    built = run.Built(native={}, wasm=None, wasmaot=None, cwasm=None, wasm_code_bytes=1024,
                      wasmaot_build={"wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mib": 100.0},
                      wasmtime_compile_s=0.1, exe_bytes=2048)
    program = run.Program("demo", "test", None, "", (), args=("1",), quick_args=("1",))
    result = run.summarize(program, built, rounds)
    assert result.best_native == "native zig"
    assert result.ratios["wasmaot/native paired"] == pytest.approx(1.1)
    table = run.markdown([result], "header")
    assert "| wasmaot / best native | paired |" in table
    assert "| geomean | | | | | | 1.10 | 1.10 | 2.00 | 0.55 | | | | |" in table
