"""The known-failures list as the script runs read it (spectest.judge_script):
a listed failure is counted with its reason, an unlisted one fails, and so does
a listed line that passes or has no command (the list only shrinks)."""

from __future__ import annotations

import spectest
from wasmaot.commands.wast import FileResult, Outcome


def _result(*outcomes) -> FileResult:
    return FileResult("x.wast", [Outcome(line, kind, "assert_invalid", "detail")
                                 for line, kind in outcomes])


def _known(*lines, scripts_only=False) -> list:
    return [spectest.KnownFailure("x.wast", line, "why", 1, scripts_only) for line in lines]


def test_a_listed_failure_is_known_and_counted_apart():
    run = spectest.judge_script("x.wast", _result((3, "passed"), (5, "failed"), (7, "skipped")),
                                _known(5, scripts_only=True))
    assert not run.problems
    assert run.counts == (1, 0, 1, 1)
    assert [(o.line, k.reason) for o, k in run.known] == [(5, "why")]


def test_an_unlisted_failure_is_a_problem():
    run = spectest.judge_script("x.wast", _result((5, "failed")), [])
    assert run.problems == ["x.wast:5: assert_invalid: detail"]
    assert run.counts == (0, 1, 0, 0)


def test_a_listed_line_that_passes_or_does_not_exist_is_a_problem():
    run = spectest.judge_script("x.wast", _result((5, "passed"), (7, "skipped")), _known(5, 7, 9))
    assert len(run.problems) == 2
    assert "now passes" in run.problems[0] and "x.wast:5" in run.problems[0]
    assert "no command" in run.problems[1] and "x.wast:9" in run.problems[1]


def test_scripts_only_entries_are_marked(tmp_path):
    listing = tmp_path / "known.txt"
    listing.write_text("a.wast:1  both\nb.wast:2  scripts: only when run\n")
    entries, problems = spectest.read_known_failures(listing)
    assert not problems
    assert [(e.file, e.scripts_only, e.reason) for e in entries] == [
        ("a.wast", False, "both"), ("b.wast", True, "only when run")]
