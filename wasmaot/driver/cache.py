"""The compile cache: where compiled modules live and what their keys cover.

A key covers everything that can change the output: the module's bytes, the
compile flags, and the compiler itself.  The compiler is identified by a hash
of wasmaot's own source files (Python and the C runtime), not only its version
number, so a changed checkout never reuses stale code.
"""

from __future__ import annotations

import os

from .sources import PACKAGE_DIR, RUNTIME_C_DIR

# SHA-256 without loading OpenSSL (hashlib's does: 2-3 ms of a cached `wasmaot
# run`); the same digest whichever module computes it.
try:
    from _sha2 import sha256  # CPython 3.12 and later
except ImportError:
    try:
        from _sha256 import sha256  # CPython 3.11
    except ImportError:
        from hashlib import sha256


# The cache's layout (runtime_c/launcher/launcher.c is given these through its
# generated header, driver/launcher.py).
CACHE_NAME = "wasmaot"  # the directory in $XDG_CACHE_HOME (default ~/.cache)
EXE_DIR = "exe"  # `wasmaot run`'s executables, by module_key
FINGERPRINTS_DIR = "fingerprints"  # compute_fingerprint's memos, by stat digest
MEMO_NAME_LENGTH = 32  # hex digits of the stat digest that name a memo
FINGERPRINT_LENGTH = 16  # hex digits of the compiler fingerprint
KEY_LENGTH = 32  # hex digits of a module_key


def cache_dir() -> str:
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or
                        os.path.join(os.path.expanduser("~"), ".cache"), CACHE_NAME)


def cache_root():
    """cache_dir() as a Path."""
    from pathlib import Path

    return Path(cache_dir())


FINGERPRINTED = (".py", ".c", ".h")  # the suffixes of the files the fingerprint covers
SKIPPED_DIR = "__pycache__"  # never fingerprinted: Python writes it as it runs


def fingerprint_roots() -> tuple[str, str]:
    """Where the fingerprinted files are (an installed wheel's runtime_c is inside
    the package: counted twice)."""
    return PACKAGE_DIR, RUNTIME_C_DIR


def _source_files(root: str) -> list[tuple[str, os.stat_result]]:
    """(path relative to root, stat) of the fingerprinted files under root, sorted."""
    out = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel)) as entries:
            for e in entries:
                name = os.path.join(rel, e.name) if rel else e.name
                if e.is_dir(follow_symlinks=False):
                    if e.name != SKIPPED_DIR:
                        stack.append(name)
                elif e.name.endswith(FINGERPRINTED):
                    out.append((name, e.stat()))
    out.sort()
    return out


def compiler_fingerprint() -> str:
    """compute_fingerprint(), once per process (not functools.lru_cache: its
    import is another 2 ms of a cached `wasmaot run`)."""
    if not _fingerprint:
        _fingerprint.append(compute_fingerprint())
    return _fingerprint[0]


_fingerprint: list[str] = []  # this process's compiler_fingerprint(), once known


def compute_fingerprint() -> str:
    """Hash of every source file that affects generated code or the runtime.
    Hashing them all takes over 10 ms, most of a cached `wasmaot run`, so the
    hash is remembered in the cache beside a digest of the files' names, sizes
    and modification times, and computed again only when one of those changed."""
    files = [(root, _source_files(root)) for root in fingerprint_roots() if os.path.isdir(root)]
    stats = sha256()
    for root, listing in files:
        stats.update(root.encode())
        for name, st in listing:
            stats.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    memo = os.path.join(cache_dir(), FINGERPRINTS_DIR, stats.hexdigest()[:MEMO_NAME_LENGTH])
    try:
        with open(memo) as f:
            remembered = f.read()
        if len(remembered) == FINGERPRINT_LENGTH:
            return remembered
    except OSError:
        pass
    h = sha256()
    for root, listing in files:
        for name, _ in listing:
            h.update(name.encode())
            with open(os.path.join(root, name), "rb") as f:
                h.update(f.read())
    fingerprint = h.hexdigest()[:FINGERPRINT_LENGTH]
    _remember(memo, fingerprint)
    return fingerprint


def _remember(path: str, text: str) -> None:
    """Write `text` to `path` atomically; a cache that cannot be written is no error."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass


def digest(*parts: bytes | str) -> str:
    """SHA-256 of `parts`, each length-prefixed (no two lists of parts collide)."""
    h = sha256()
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        h.update(len(raw).to_bytes(8, "little"))
        h.update(raw)
    return h.hexdigest()[:40]


def module_key(data: bytes, flags: str) -> str:
    return digest(compiler_fingerprint(), flags, data)[:KEY_LENGTH]


def run_flags(target: str, opt_level: int, *, cpu: str = "default", interruptible: bool = False,
              deterministic: bool = False) -> str:
    """The flags part of a `wasmaot run` executable's module_key."""
    return (f"run {target} -O{opt_level} --cpu {cpu}" + (" interruptible" if interruptible else "")
            + (" deterministic" if deterministic else ""))


def run_executable_path(key: str) -> str:
    """Where `wasmaot run` keeps the executable of a module_key."""
    return os.path.join(cache_dir(), EXE_DIR, key)
