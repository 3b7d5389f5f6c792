"""Reading a module from a file: binary `.wasm`, or text `.wat`/`.wast` converted first."""

from __future__ import annotations

import os

from ..driver.run_forms import TEXT_SUFFIXES


def is_text_path(path: str | os.PathLike[str]) -> bool:
    """Whether `path` names a text-format module (by its suffix)."""
    return os.fspath(path).lower().endswith(TEXT_SUFFIXES)


def read_module_bytes(path: str | os.PathLike[str]) -> bytes:
    """The binary module stored in `path`.

    Text files (by suffix, `is_text_path`) go through `wasm-tools parse`.
    Raises `OSError` if the file cannot be read, and `WasmError` for a text file
    that does not parse.
    """
    with open(path, "rb") as f:  # not pathlib: a cached `wasmaot run` imports this
        data = f.read()
    if is_text_path(path):
        from wasmaot.driver.wat import wat_bytes_to_wasm  # subprocess etc.: only for text

        return wat_bytes_to_wasm(data)
    return data
