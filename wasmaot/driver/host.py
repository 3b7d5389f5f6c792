"""The machine wasmaot runs on, found with no import heavier than `os`:
`wasmaot run` asks for it on its fast path (a cached run starts in tens of ms)."""

from __future__ import annotations

import os

from wasmaot.errors import ToolchainError

_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def host_arch() -> str:
    machine = os.uname().machine.lower()
    try:
        return _MACHINES[machine]
    except KeyError:
        raise ToolchainError(f"unsupported host architecture {machine!r} (x86_64 and aarch64 only)") from None


def host_target_name() -> str:
    """This machine's `--target` name (a key of targets.CODE_TARGETS)."""
    return f"{host_arch()}-linux"
