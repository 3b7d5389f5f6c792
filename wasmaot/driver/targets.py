"""The targets wasmaot builds for, as zig and LLVM name them.

A target is an architecture plus a libc.  `*-linux-gnu` targets get the runtime
as a shared library (`libwasmaot_rt.so`) for the Python API, loaded into the
host Python; `*-linux-musl` targets get it as a static archive for standalone
executables.  Code is built for the architecture's portable baseline CPU, so a
binary runs on any machine of that architecture and builds are reproducible.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

from wasmaot.errors import ToolchainError


@dataclass(frozen=True)
class Target:
    name: str  # our name, e.g. "x86_64-linux-musl"
    arch: str  # "x86_64" or "aarch64"
    libc: str  # "gnu" or "musl"
    zig_target: str  # for `zig cc -target`
    llvm_triple: str  # for llvmlite's target machine
    cpu: str = "baseline"  # for `zig cc -mcpu`; LLVM's generic CPU of the arch

    @property
    def shared_runtime(self) -> bool:
        """True: the runtime is a shared library (gnu); False: a static archive (musl)."""
        return self.libc == "gnu"


def _target(arch: str, libc: str) -> Target:
    return Target(
        name=f"{arch}-linux-{libc}",
        arch=arch,
        libc=libc,
        zig_target=f"{arch}-linux-{libc}",
        llvm_triple=f"{arch}-unknown-linux-{libc}",
    )


TARGETS = {t.name: t for t in (_target(a, c) for a in ("x86_64", "aarch64") for c in ("gnu", "musl"))}

_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def host_arch() -> str:
    machine = platform.machine().lower()
    try:
        return _MACHINES[machine]
    except KeyError:
        raise ToolchainError(f"unsupported host architecture {machine!r} (x86_64 and aarch64 only)") from None


def resolve_target(name: str | Target = "host") -> Target:
    """`"host"` (the running machine, gnu: what the Python API loads) or a name of TARGETS."""
    if isinstance(name, Target):
        return name
    if name == "host":
        name = f"{host_arch()}-linux-gnu"
    try:
        return TARGETS[name]
    except KeyError:
        known = ", ".join(["host", *TARGETS])
        raise ToolchainError(f"unknown target {name!r} (known: {known})") from None
