"""A supertype index must be below its subtype's, and that is checked before anything walks a
supertype chain (issue 8, found by tools/validator_fuzz as a hang).

A later type of a recursion group that named itself (or a later type) as its supertype made a
cycle in the supertype chains; checking an *earlier* type of the group (its fields, or its
descriptor clause) walked that cycle forever before the later type's own check ran.  Each case
must be refused, quickly, with the testsuite's "unknown type" wording.
"""

from __future__ import annotations

import signal

import pytest

from wasmaot.driver.wat import wat_bytes_to_wasm
from wasmaot.errors import InvalidModule
from wasmaot.wasm import load_module

CASES = {
    "self-supertype reached through a field": """
        (type $0 (sub (struct (field (ref null $1)))))
        (type $1 (sub (struct)))
        (type $2 (sub $0 (struct (field (ref null $3)))))
        (type $3 (sub $3 (struct)))""",
    "two types each other's supertype": """
        (type $0 (sub (struct (field (ref null $1)))))
        (type $1 (sub (struct)))
        (type $2 (sub $0 (struct (field (ref null $3)))))
        (type $3 (sub $4 (struct)))
        (type $4 (sub $3 (struct)))""",
    "self-supertype reached through a descriptor clause": """
        (type $0 (sub (descriptor $1) (struct)))
        (type $1 (sub (describes $0) (struct)))
        (type $2 (sub $0 (descriptor $3) (struct)))
        (type $3 (sub $3 (describes $2) (struct)))""",
}


class TookTooLong(BaseException):
    pass


@pytest.mark.parametrize("types", CASES.values(), ids=CASES.keys())
def test_supertype_cycle_is_refused_at_once(types):
    data = wat_bytes_to_wasm(f"(module (rec {types}))".encode())

    def alarm(signum, frame):
        raise TookTooLong()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        with pytest.raises(InvalidModule, match="unknown type .*supertype must be defined before"):
            load_module(data)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
