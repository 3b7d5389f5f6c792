"""The compile cache: where compiled modules live and what their keys cover.

A key covers everything that can change the output: the module's bytes, the
compile flags, and the compiler itself.  The compiler is identified by a hash
of wasmaot's own source files (Python and the C runtime), not only its version
number, so a changed checkout never reuses stale code.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from .sources import PACKAGE_ROOT, RUNTIME_DIR



def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wasmaot"


@functools.lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """Hash of every source file that affects generated code or the runtime."""
    h = hashlib.sha256()
    roots = [PACKAGE_ROOT, RUNTIME_DIR]
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".c", ".h") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def module_key(data: bytes, flags: str) -> str:
    h = hashlib.sha256()
    for part in (compiler_fingerprint().encode(), flags.encode(), data):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:32]
