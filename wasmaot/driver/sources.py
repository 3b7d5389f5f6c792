"""Where wasmaot's own sources are: the Python package, and the C runtime that
is compiled on the user's machine.  Imports nothing but `os`: the compile
cache's fingerprint needs these on `wasmaot run`'s fast path, where pathlib's
import alone would be a third of the time; PACKAGE_ROOT and RUNTIME_DIR, the
`Path`s, are made on first use."""

from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def _runtime_c_dir() -> str:
    """runtime_c/ beside the package in a checkout (and an editable install);
    inside it, as the package data `wasmaot/runtime_c`, in an installed wheel."""
    checkout = os.path.join(os.path.dirname(PACKAGE_DIR), "runtime_c")
    return checkout if os.path.isdir(checkout) else os.path.join(PACKAGE_DIR, "runtime_c")


RUNTIME_C_DIR = _runtime_c_dir()


_PATHS = {"PACKAGE_ROOT": PACKAGE_DIR, "RUNTIME_DIR": RUNTIME_C_DIR}


def __getattr__(name: str):
    # The import system asks for other names (`__path__`): no pathlib for them.
    if name not in _PATHS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pathlib import Path

    return Path(_PATHS[name])
