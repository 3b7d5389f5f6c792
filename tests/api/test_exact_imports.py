"""Exact imports (custom descriptors) are honoured by every import-type check,
in this process (the embedding API) and in a test executable (the C runtime's
link_import alone checks its functions there).  The cases are a spec-style
script, exact_imports.wast, beside this file."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmaot.driver.targets import host_code_target
from wasmaot.commands.wast import run_file

SCRIPT = Path(__file__).with_name("exact_imports.wast")


@pytest.mark.parametrize("backend", ["in-process", "test-executable"])
def test_exact_imports_admit_only_their_own_type(backend):
    target = host_code_target().name if backend == "test-executable" else None
    result = run_file(SCRIPT, target=target)
    assert result.error is None, result.error
    failures = [f"{SCRIPT.name}:{o.line}: {o.command}: {o.detail}"
                for o in result.outcomes if o.kind != "passed"]
    assert not failures, "\n".join(failures)
    assert sum(1 for o in result.outcomes if o.command == "assert_unlinkable") == 9
