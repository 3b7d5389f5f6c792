"""The function table of wasmaot_wasi.h: 46 rows, each matching wasi-libc's own
import declaration (name, parameter types, result), each implemented and exported;
and every constant of the header equal to wasi-libc's (checked by the C compiler
for wasm32, with <wasi/api.h> and our header side by side)."""

import re
import subprocess
from pathlib import Path

from wasic_harness import ERRNO, HEADER, RIGHT_BITS, RUNTIME, wasi_table

from wasmaot.driver import toolchain


def wasi_libc_dir() -> Path:
    import ziglang

    return Path(ziglang.__file__).parent / "lib" / "libc"


def wasi_libc_imports() -> dict[str, tuple[str, tuple[str, ...]]]:
    """name -> (result, param types) from wasi-libc's __wasilibc_real.c."""
    text = (wasi_libc_dir() / "wasi" / "libc-bottom-half" / "sources" / "__wasilibc_real.c").read_text()
    out = {}
    for m in re.finditer(r"(int32_t|_Noreturn void|void)\s+__imported_wasi_snapshot_preview1_(\w+)"
                         r"\(([^)]*)\)\s*__attribute__", text):
        params = tuple("I64" if p.strip().startswith("int64_t") else "I32"
                       for p in m[3].split(",") if p.strip() and p.strip() != "void")
        out[m[2]] = ("ERRNO" if m[1] == "int32_t" else "NORETURN", params)
    return out


def test_table_has_the_46_functions():
    rows = wasi_table()
    assert len(rows) == 46
    assert len({r.name for r in rows}) == 46
    assert "#define WASMAOT_WASI_FUNCTION_COUNT 46" in HEADER.read_text()


def test_table_matches_wasi_libc():
    libc = wasi_libc_imports()
    # wasi-libc no longer declares proc_raise (deprecated: signals are not part of
    # WASI), but the preview1 witx has it and old binaries import it: (sig: i32) -> errno.
    assert "proc_raise" not in libc and len(libc) == 45
    libc["proc_raise"] = ("ERRNO", ("I32",))
    ours = {r.name: (r.result, tuple(t for t, _ in r.params)) for r in wasi_table()}
    assert ours == libc


def test_every_function_is_exported(wasic_libs):
    for lib in wasic_libs.values():
        for r in wasi_table():
            getattr(lib, f"wasmaot_wasi_{r.name}")  # resolved by dlsym, or AttributeError


def test_constants_match_wasi_libc(tmp_path):
    lines = ["#include <stddef.h>", "#include <wasi/api.h>", '#include "wasmaot_wasi.h"']
    for name, value in ERRNO.items():
        lines.append(f"_Static_assert(__WASI_ERRNO_{name} == {value}, \"errno {name}\");")
        lines.append(f"_Static_assert(WASMAOT_WASI_ERRNO_{name} == __WASI_ERRNO_{name}, \"{name}\");")
    for name in RIGHT_BITS:
        lines.append(f"_Static_assert(WASMAOT_WASI_RIGHT({name}) == __WASI_RIGHTS_{name}, \"{name}\");")
    assert len(ERRNO) == 77 and len(RIGHT_BITS) == 30
    for macro in re.findall(r"#define (WASMAOT_WASI_(?:CLOCK|FILETYPE|WHENCE|ADVICE|FDFLAGS|FSTFLAGS|"
                            r"LOOKUPFLAGS|OFLAGS|EVENTTYPE|EVENTRWFLAGS|SUBCLOCKFLAGS|RIFLAGS|ROFLAGS|"
                            r"SDFLAGS|PREOPENTYPE)_\w+)", HEADER.read_text()):
        wasi = "__WASI_" + macro[len("WASMAOT_WASI_"):]
        wasi = wasi.replace("__WASI_CLOCK_", "__WASI_CLOCKID_")
        lines.append(f"_Static_assert({macro} == {wasi}, \"{macro}\");")
    for struct, size in (("iovec", "IOVEC"), ("prestat", "PRESTAT"), ("fdstat", "FDSTAT"),
                         ("filestat", "FILESTAT"), ("dirent", "DIRENT"),
                         ("subscription", "SUBSCRIPTION"), ("event", "EVENT")):
        lines.append(f"_Static_assert(sizeof(__wasi_{struct}_t) == WASMAOT_WASI_{size}_SIZE, \"{struct}\");")
    for field, off in (("subscription_t, u.u.clock.timeout", 24), ("subscription_t, u.u.clock.flags", 40),
                       ("subscription_t, u.u.fd_read.file_descriptor", 16),
                       ("event_t, fd_readwrite.nbytes", 16), ("event_t, fd_readwrite.flags", 24),
                       ("filestat_t, filetype", 16), ("filestat_t, nlink", 24),
                       ("fdstat_t, fs_flags", 2), ("prestat_t, u.dir.pr_name_len", 4)):
        lines.append(f"_Static_assert(offsetof(__wasi_{field}) == {off}, \"{field}\");")
    src = tmp_path / "check.c"
    src.write_text("\n".join(lines) + "\n")
    cmd = [*toolchain.zig_command(), "cc", "-target", "wasm32-wasi", "-std=c11", "-Wall", "-Werror",
           "-I", str(RUNTIME / "include"), "-c", str(src), "-o", str(tmp_path / "check.o")]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_function_is_exercised():
    """Each of the 46 functions is called by name somewhere in these tests (directly
    or through a wasic_harness.Guest helper)."""
    text = "".join(p.read_text() for p in Path(__file__).parent.glob("*.py"))
    missing = [r.name for r in wasi_table()
               if f'"{r.name}"' not in text and f"wasmaot_wasi_{r.name}(" not in text]
    assert missing == []
