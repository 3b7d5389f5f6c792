"""Reusing compiled work across builds: objects by their IR, executables by their inputs.

Two stores, both under the cache directory (driver/cache.py):

- objects: a partition's object file, keyed by its LLVM IR text, the target machine,
  the optimization level, the tier, the LLVM in use and wasmaot's own fingerprint.
  The IR is everything LLVM is given, so a hit is the object LLVM would make again,
  byte for byte; a rebuild of a module that differs in some functions compiles only
  the partitions whose IR changed (codegen/partition.py keeps partitions stable).
  Only for modules with at least `REMEMBER_CODE_BYTES` of code: a smaller one
  rebuilds after an edit in well under a second.
- builds: an executable of any module, keyed by the module's bytes, every build
  option and the toolchain, so that an unchanged rebuild only copies it.  Builds
  with --link files are not remembered (a C file's headers are inputs the key
  cannot see).

Each store is bounded: when a write takes it past `MAX_STORE_BYTES`, the entries
used longest ago (a hit refreshes an entry's time) are deleted down to three
quarters of that.  An entry starts with the SHA-256 of its content, checked when it
is read: a file damaged on disk is a miss (and is deleted), never linked into an
executable.  A store that cannot be read or written is no error: the work is done
again.
"""

from __future__ import annotations

import os

from .cache import cache_dir, compiler_fingerprint, digest, sha256

REMEMBER_CODE_BYTES = 256 * 1024
MAX_STORE_BYTES = 1 << 30
OBJECTS = "objects"
BUILDS = "builds"


def object_key(ir_text: str, machine: tuple, opt_level: int, tier: str) -> str:
    """The key of the object LLVM makes of `ir_text`; `machine`: (triple, cpu,
    features, LLVM version)."""
    return digest(OBJECTS, compiler_fingerprint(), *machine, str(opt_level), tier, ir_text)


def load(store: str, key: str) -> bytes | None:
    path = os.path.join(cache_dir(), store, key)
    try:
        with open(path, "rb") as f:
            entry = f.read()
        if sha256(entry[32:]).digest() != entry[:32]:
            os.unlink(path)
            return None
        os.utime(path)  # recently used: trimmed last
    except OSError:
        return None
    return entry[32:]


def save(store: str, key: str, content: bytes) -> None:
    """Write atomically (a reader sees the whole entry or none), then trim the store."""
    where = os.path.join(cache_dir(), store)
    path = os.path.join(where, key)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(where, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(sha256(content).digest())
            f.write(content)
        os.replace(tmp, path)
        _trim(where)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _trim(where: str) -> None:
    entries = []
    with os.scandir(where) as it:
        for e in it:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            entries.append((st.st_mtime_ns, st.st_size, e.path))
    total = sum(size for _, size, _ in entries)
    if total <= MAX_STORE_BYTES:
        return
    for _, size, path in sorted(entries):
        if total <= MAX_STORE_BYTES * 3 // 4:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
