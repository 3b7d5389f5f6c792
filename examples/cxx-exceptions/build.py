"""Builds examples/cxx-exceptions to wasm32-wasi with WebAssembly exceptions
(zig 0.17, from PyPI's ziglang), the way README.md explains:

    python examples/cxx-exceptions/build.py OUT.wasm [SOURCE.cpp]

zig builds its wasi libc++abi without exceptions and no libunwind for wasm,
so a `zig c++ -fwasm-exceptions` program links against a C++ runtime that
cannot throw (undefined __cxa_throw, __cxa_begin_catch, _Unwind_CallPersonality,
__wasm_lpad_context, __cpp_exception).  This compiles the missing pieces from
the sources zig ships (libc++abi's cxa_exception.cpp and cxa_personality.cpp,
libunwind's Unwind-wasm.c) with exceptions on, defines the tag
__cpp_exception, and links them with the program.  tests/wasi and
bench/throughput.py import `build_wasm` from here."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "cxx-exceptions.cpp"
# Standard wasm exceptions (try_table, exnref); `legacy=True` gives the legacy encoding
# (try/catch/delegate/rethrow) that older toolchains emit.
EH_FLAGS = ("-mexception-handling", "-fwasm-exceptions")


def eh_flags(legacy: bool) -> tuple[str, ...]:
    return (*EH_FLAGS, "-mllvm", f"-wasm-use-legacy-eh={'true' if legacy else 'false'}")
# The tag `throw` uses for C++ exceptions: its payload is the address of the
# _Unwind_Exception.  Upstream libunwind (Unwind-wasm.c) names it but zig's
# copy does not define it.
CPP_EXCEPTION_TAG = (
    '__asm__(".globl __cpp_exception\\n.tagtype __cpp_exception i32\\n__cpp_exception:\\n");\n'
)


def zig_lib() -> Path:
    import ziglang

    return Path(ziglang.__file__).resolve().parent / "lib"


def build_wasm(out: Path, source: Path = SOURCE, legacy: bool = False) -> bytes:
    """Compiles `source` and the exception runtime; writes and returns the module."""
    lib = zig_lib()

    def _zig(driver: str, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "ziglang", driver, "-target", "wasm32-wasi",
                        "-O2", *eh_flags(legacy), *args], check=True)

    with tempfile.TemporaryDirectory(prefix="cxx-eh-") as tmp:
        work = Path(tmp)
        objs = []
        for name in ("cxa_exception", "cxa_personality"):
            obj = work / f"{name}.o"
            _zig("c++", "-c", "-D_LIBCXXABI_BUILDING_LIBRARY", "-D_LIBCPP_BUILDING_LIBRARY",
                 "-D_LIBCXXABI_HAS_NO_THREADS", f"-I{lib}/libcxxabi/include",
                 f"-I{lib}/libcxx/src", str(lib / "libcxxabi/src" / f"{name}.cpp"),
                 "-o", str(obj))
            objs.append(obj)
        obj = work / "unwind-wasm.o"
        # _LIBUNWIND_HIDE_SYMBOLS: config.h otherwise takes wasm (not ELF) for Windows and
        # marks the functions __declspec(dllexport).
        _zig("cc", "-c", "-w", "-D_LIBUNWIND_HIDE_SYMBOLS", "-D_LIBUNWIND_HAS_NO_THREADS",
             f"-I{lib}/libunwind/include", str(lib / "libunwind/src/Unwind-wasm.c"),
             "-o", str(obj))
        objs.append(obj)
        tag = work / "cpp_exception_tag.c"
        tag.write_text(CPP_EXCEPTION_TAG)
        _zig("c++", str(source), str(tag), *map(str, objs), "-o", str(out))
    return out.read_bytes()


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    build_wasm(Path(argv[1]), Path(argv[2]) if len(argv) == 3 else SOURCE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
