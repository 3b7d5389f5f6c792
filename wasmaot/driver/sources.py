"""Where wasmaot's own sources are: the Python package, and the C runtime that
is compiled on the user's machine.  Imports nothing heavy: the compile cache's
fingerprint needs these on `wasmaot run`'s fast path."""

from __future__ import annotations

from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _runtime_dir() -> Path:
    """runtime_c/ beside the package in a checkout (and an editable install);
    inside it, as the package data `wasmaot/runtime_c`, in an installed wheel."""
    checkout = PACKAGE_ROOT.parent / "runtime_c"
    return checkout if checkout.is_dir() else PACKAGE_ROOT / "runtime_c"


RUNTIME_DIR = _runtime_dir()
