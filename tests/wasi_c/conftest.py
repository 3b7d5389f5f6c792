"""Fixtures for the C-level WASI and sandbox tests (see wasic_harness.py).

`variant` runs a test against both sandbox resolvers: "openat2" (the kernel's
RESOLVE_BENEATH) and "fallback" (the manual walker), both built paranoid.
`sb` is a fresh WASI context over a grant tree:

    root/
      outside/secret            "SECRET"        -- must never be reached
      outside/dir/
      grant/      -> fd 3, "/sandbox", read-write
        file      "hello"
        sub/inner "inner"
        empty/
      ro/         -> fd 4, "/ro", read-only
        file      "ro data"
        sub/
      other/      -> fd 5, "/other", read-write
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from wasic_harness import VARIANTS, Context, Guest, build, load


@pytest.fixture(scope="session")
def wasic_paths(tmp_path_factory):
    out = tmp_path_factory.mktemp("wasic")
    return {v: build(out, v) for v in VARIANTS}  # serially: the machine is small


@pytest.fixture(scope="session")
def wasic_libs(wasic_paths):
    return {v: load(p) for v, p in wasic_paths.items()}


@pytest.fixture(params=list(VARIANTS))
def variant(request):
    return request.param


@pytest.fixture
def lib(wasic_libs, variant):
    return wasic_libs[variant]


@dataclass
class Sandbox:
    lib: object
    g: Guest
    root: Path
    grant: Path
    ro: Path
    other: Path
    outside: Path
    variant: str

    def secret_intact(self) -> bool:
        return (self.outside / "secret").read_bytes() == b"SECRET" and sorted(
            p.name for p in self.outside.iterdir()) == ["dir", "secret"]


def make_tree(root: Path) -> None:
    (root / "outside" / "dir").mkdir(parents=True)
    (root / "outside" / "secret").write_bytes(b"SECRET")
    (root / "grant" / "sub").mkdir(parents=True)
    (root / "grant" / "empty").mkdir()
    (root / "grant" / "file").write_bytes(b"hello")
    (root / "grant" / "sub" / "inner").write_bytes(b"inner")
    (root / "ro" / "sub").mkdir(parents=True)
    (root / "ro" / "file").write_bytes(b"ro data")
    (root / "other").mkdir()


@pytest.fixture
def sb(lib, variant, tmp_path):
    make_tree(tmp_path)
    ctx = Context(lib, argv=("prog",), preopens=[(tmp_path / "grant", "/sandbox"),
                                                 (tmp_path / "ro", "/ro", True),
                                                 (tmp_path / "other", "/other")])
    assert ctx.status == 0, ctx.error
    g = Guest(lib)
    s = Sandbox(lib, g, tmp_path, tmp_path / "grant", tmp_path / "ro", tmp_path / "other",
                tmp_path / "outside", variant)
    yield s
    lib.wasmaot_wasi_shutdown()
    g.free()
    assert s.secret_intact(), "something reached root/outside"


@pytest.fixture
def guest(wasic_libs):
    """A Guest on the openat2 build with a context holding only stdio (and no grant)."""
    lib = wasic_libs["openat2"]
    ctx = Context(lib)
    assert ctx.status == 0, ctx.error
    g = Guest(lib)
    yield g
    lib.wasmaot_wasi_shutdown()
    g.free()
