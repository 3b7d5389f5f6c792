"""The frontend: WebAssembly binary format, types and validation."""

from __future__ import annotations

from .decoder import decode_module
from .module import Module
from .validate_module import validate_module


def load_module(data: bytes) -> Module:
    """Decode and validate; raises MalformedModule or InvalidModule."""
    module = decode_module(data)
    validate_module(module)
    return module


__all__ = ["Module", "decode_module", "load_module", "validate_module"]
