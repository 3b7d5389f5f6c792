"""The targets wasmaot builds for.

What users name with `--target` is an architecture: `x86_64-linux` or
`aarch64-linux` (a `CodeTarget`).  It fixes the LLVM triple and the CPU code
is generated for by default: the portable baseline of the architecture (x86-64
with SSE2, ARMv8.0-A with NEON), so that a binary runs on any machine of its
architecture and builds are reproducible.  `--cpu` picks another level
(driver/cpu.py).

The C side (zig) needs a libc as well: a `Target` is an architecture plus a
libc.  `*-linux-gnu` targets get the runtime as a shared library
(`libwasmaot_rt.so`) for the Python API, loaded into the host Python;
`*-linux-musl` targets get it as a static archive for standalone executables.
"""

from __future__ import annotations

from dataclasses import dataclass

from wasmaot.driver.host import host_arch, host_target_name
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


@dataclass(frozen=True)
class CodeTarget:
    name: str  # what --target names, e.g. "x86_64-linux"
    triple: str  # LLVM's
    cpu: str  # LLVM's CPU name: the baseline's, or a --cpu level's (driver/cpu.py)
    features: str = ""  # LLVM's feature string (a --cpu level's)

    @property
    def arch(self) -> str:
        return self.name.split("-")[0]

    def toolchain(self, libc: str) -> Target:
        """The zig target of this architecture with `libc` ("gnu" or "musl")."""
        return TARGETS[f"{self.arch}-linux-{libc}"]


CODE_TARGETS = {
    "x86_64-linux": CodeTarget("x86_64-linux", "x86_64-unknown-linux-gnu", "x86-64"),
    "aarch64-linux": CodeTarget("aarch64-linux", "aarch64-unknown-linux-gnu", "generic"),
}


def code_target(name: str) -> CodeTarget:
    try:
        return CODE_TARGETS[name]
    except KeyError:
        raise ToolchainError(f"unknown target {name!r} (known: {', '.join(CODE_TARGETS)})") \
            from None


def host_code_target() -> CodeTarget:
    """The architecture of this machine."""
    return CODE_TARGETS[host_target_name()]


def _target(arch: str, libc: str) -> Target:
    return Target(
        name=f"{arch}-linux-{libc}",
        arch=arch,
        libc=libc,
        zig_target=f"{arch}-linux-{libc}",
        llvm_triple=f"{arch}-unknown-linux-{libc}",
    )


TARGETS = {t.name: t for t in (_target(a, c) for a in ("x86_64", "aarch64") for c in ("gnu", "musl"))}

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
