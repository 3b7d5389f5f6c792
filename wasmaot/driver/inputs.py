"""Reading a module from a file: binary `.wasm`, or text `.wat`/`.wast` converted first."""

from __future__ import annotations

import os
from pathlib import Path



def read_module_bytes(path: str | os.PathLike[str]) -> bytes:
    """The binary module stored in `path`.

    Text files (by suffix, see `wat.is_text_path`) go through `wasm-tools parse`.
    Raises `OSError` if the file cannot be read, and `WasmError` for a text file
    that does not parse.
    """
    from wasmaot.driver.wat import is_text_path, wat_bytes_to_wasm  # subprocess etc.: lazily

    data = Path(path).read_bytes()
    if is_text_path(path):
        return wat_bytes_to_wasm(data)
    return data
