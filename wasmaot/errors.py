"""The one error family of wasmaot.

Every error the toolchain reports on purpose is a `WasmError`.  It carries where
it happened (byte offset, function index and name, section) from the moment it is
raised; each layer that knows more context adds it on the way out with
`with_context`.  Only the CLI turns an error into its one printed line.
"""

from __future__ import annotations


class WasmError(Exception):
    """Base of all wasmaot errors.  `kind` is the word the CLI prints first."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        func_index: int | None = None,
        func_name: str | None = None,
        section: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.func_index = func_index
        self.func_name = func_name
        self.section = section

    def with_context(
        self,
        *,
        offset: int | None = None,
        func_index: int | None = None,
        func_name: str | None = None,
        section: str | None = None,
    ) -> "WasmError":
        """Fill in location fields that are still unknown; returns self."""
        if self.offset is None:
            self.offset = offset
        if self.func_index is None:
            self.func_index = func_index
        if self.func_name is None:
            self.func_name = func_name
        if self.section is None:
            self.section = section
        return self

    def where(self) -> str:
        parts = []
        if self.func_index is not None:
            if self.func_name:
                parts.append(f'func {self.func_index} "{self.func_name}"')
            else:
                parts.append(f"func {self.func_index}")
        elif self.section is not None:
            parts.append(f"{self.section} section")
        if self.offset is not None:
            parts.append(f"offset {self.offset:#x}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{self.message} ({where})" if where else self.message


class MalformedModule(WasmError):
    """The bytes are not a WebAssembly module (the spec's decoding failed)."""

    kind = "malformed module"


class InvalidModule(WasmError):
    """The module decodes but breaks a validation rule."""

    kind = "invalid module"


class ImplementationLimit(InvalidModule):
    """The module is larger than wasmaot accepts (wasm/limits.py: the limits the
    JS API sets and wasmtime applies).  An InvalidModule, as `wasm-tools
    validate` rejects such a module too."""

    kind = "implementation limit"


class UnsupportedFeature(WasmError):
    """Valid WebAssembly that this version of wasmaot cannot compile yet."""

    kind = "unsupported feature"


class LinkError(WasmError):
    """An import cannot be satisfied (missing, or of the wrong type)."""

    kind = "link error"


class ToolchainError(WasmError):
    """An external tool (wasm-tools, the C compiler, the linker) failed."""

    kind = "toolchain error"


class Trap(WasmError):
    """WebAssembly code trapped at run time."""

    kind = "wasm trap"


class WasmException(WasmError):
    """A wasm exception: raised by a call that an exception no handler caught left
    (as wasmtime, this is not a trap), and raised by a host function to throw one into
    wasm.  `tag` is the `wasmaot.api.Tag` it was thrown with, `values` its payload."""

    kind = "wasm exception"

    def __init__(self, tag, values=(), *, exn=None) -> None:
        super().__init__("thrown Wasm exception")
        self.tag = tag
        self.values = tuple(values)
        self._exn = exn  # the api.Exn it came from, if from wasm (rethrown as is; it pins)
