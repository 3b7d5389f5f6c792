"""Spec-testsuite verdicts: one test per `.wast` file of ../shared/testsuite.

Every binary module must get the verdict the script expects from `load_module`
(accepted, MalformedModule or InvalidModule; see `spectest.py` for the command
mapping).  Wrong verdicts not listed in `known_failures.txt` fail the file's
test; so does a listed case that now passes (remove it from the list).  Per-file
and overall totals, skips with their reasons, and the share of right verdicts
(overall and for WebAssembly 2.0-only files) are printed at the end of the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import spectest

WAST_FILES = spectest.wast_files()
KNOWN, KNOWN_PROBLEMS = spectest.read_known_failures()


@pytest.fixture(scope="session")
def converted_root(tmp_path_factory) -> Path:
    """One directory per session holding every converted script."""
    return tmp_path_factory.mktemp("spec-json")


def test_testsuite_present():
    assert WAST_FILES, f"no .wast files under {spectest.TESTSUITE}: the spec testsuite is required"


def test_known_failures_list_is_well_formed():
    problems = list(KNOWN_PROBLEMS)
    seen = set()
    for entry in KNOWN:
        where = f"{entry.file}:{entry.line}"
        if entry.file not in WAST_FILES:
            problems.append(f"known_failures.txt:{entry.source_line}: no such testsuite file {entry.file}")
        if where in seen:
            problems.append(f"known_failures.txt:{entry.source_line}: {where} is listed twice")
        seen.add(where)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.mark.parametrize("wast", WAST_FILES)
def test_spec_verdicts(wast: str, converted_root: Path, request) -> None:
    result = spectest.FileResult(wast)
    spectest.RESULTS[wast] = result
    out_dir = converted_root / spectest.safe_dir_name(wast)
    converted, failure, tool_missing = spectest.convert(wast, out_dir)
    if tool_missing:
        result.unconvertible = failure
        pytest.skip(failure)
    if converted is None:
        pytest.fail(f"{wast}: {failure}", pytrace=False)

    found = spectest.cases(converted, out_dir, result.skipped)
    known_lines = {k.line: k for k in KNOWN if k.file == wast and not k.scripts_only}
    spectest.judge(result, found, known_lines)
    result.wasm2_only = spectest.classify_wasm2(wast, found, getattr(request.config, "cache", None))

    report = []
    if result.wrong:
        report.append(f"{len(result.wrong)} wrong verdicts (not in known_failures.txt):")
        report += [f"  {line}" for line in result.wrong[:40]]
        if len(result.wrong) > 40:
            report.append(f"  ... and {len(result.wrong) - 40} more")
    if result.fixed:
        report.append("listed in known_failures.txt but now right: remove them from the list:")
        report += [f"  {line}" for line in result.fixed]
    if result.stale:
        report.append("listed in known_failures.txt but no checked module is on that line: remove them:")
        report += [f"  {line}" for line in result.stale]
    if report:
        pytest.fail("\n".join(report), pytrace=False)
