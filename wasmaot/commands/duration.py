"""Durations of `--timeout` and WASMAOT_TIMEOUT: a number with an optional
unit, `500ms`, `2s`, `1.5m`, `1h`, or plain seconds (`30`, `0.25`).

The same grammar is parsed by the executable's main (runtime_c/exe/main.c,
`parse_duration`) for WASMAOT_TIMEOUT at run time; tests/driver/test_timeout.py
checks that both accept and refuse the same strings.
"""

from __future__ import annotations

import re

from ..errors import WasmError

NS_PER_UNIT = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
# A year: far beyond any real timeout; bounds the runtime's clock arithmetic.
MAX_NS = 365 * 24 * 3600 * 10**9
_SYNTAX = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,9}))?(ms|s|m|h)?")
EXAMPLES = "e.g. 500ms, 2s, 1m, or a number of seconds"


class DurationError(WasmError):
    pass


def parse_duration(text: str) -> int:
    """Nanoseconds (> 0, <= MAX_NS); DurationError for anything else."""
    m = _SYNTAX.fullmatch(text)
    if m is None:
        raise DurationError(f"invalid duration {text!r} ({EXAMPLES})")
    whole, frac, unit = m.group(1), m.group(2) or "", m.group(3) or "s"
    per = NS_PER_UNIT[unit]
    ns = int(whole) * per + int(frac.ljust(9, "0")) * per // 10**9
    if ns <= 0 or ns > MAX_NS:
        raise DurationError(f"invalid duration {text!r}: must be more than 0 and at most a "
                            f"year ({EXAMPLES})")
    return ns
