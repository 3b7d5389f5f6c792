"""Fixtures for the runtime tests: the runtime loaded through wasmaot._ffi, and the
hand-written fake module (fake_module.c) built into shared objects at test time."""

from __future__ import annotations

import pytest
from harness import FAKE_SOURCE, VARIANTS, Instance

from wasmaot import _ffi
from wasmaot.driver import toolchain


@pytest.fixture(scope="session")
def rt():
    return _ffi.load_runtime()


@pytest.fixture(scope="session")
def fake_paths(tmp_path_factory, rt):
    """Every variant of the fake module, compiled and linked against the runtime."""
    out = tmp_path_factory.mktemp("fake")
    build = toolchain.runtime_build("host")
    paths = {}
    for name, defines in VARIANTS.items():
        obj = out / f"fake_{name}.o"
        # Stack probes, as generated code must have: a big frame touches its pages in order.
        toolchain.compile_object(FAKE_SOURCE, obj, include_dirs=build.include_dirs,
                                 extra_flags=(*defines, "-fstack-clash-protection"))
        paths[name] = toolchain.link_module_shared(obj, out / f"fake_{name}.so")
    return paths


@pytest.fixture(scope="session")
def fake_libs(fake_paths):
    """variant -> (cffi library, descriptor pointer); kept loaded for the session."""
    return {name: _ffi.load_module_library(path) for name, path in fake_paths.items()}


@pytest.fixture
def make_instance(rt, fake_libs):
    made = []

    def make(variant="plain", *, init=True, **kw):
        inst = Instance(rt, fake_libs[variant], init=False, **kw)
        made.append(inst)
        if init:
            inst.init()
        return inst

    yield make
    for inst in made:
        inst.free()
