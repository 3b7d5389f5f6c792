"""The ABI is written once (codegen/abi.py) and checked from every side that uses it:
the C compiler (static asserts), cffi (layouts), the hand-written cffi declarations
against wasmaot_rt.h, and abi.RUNTIME_FUNCTIONS against the runtime's signatures."""

from __future__ import annotations

import platform
import re
import shutil
import struct
import subprocess

import pytest

from wasmaot import _ffi
from wasmaot.codegen import abi
from wasmaot.driver import toolchain
from wasmaot.errors import ToolchainError

ffi = _ffi.ffi


@pytest.mark.parametrize("target", ["x86_64-linux-gnu", "aarch64-linux-musl"])
def test_abi_static_asserts_compile(tmp_path, target):
    """The C compiler agrees with every offset and size abi.py gives codegen."""
    (tmp_path / "wasmaot_abi.h").write_text(abi.c_header())
    src = tmp_path / "asserts.c"
    src.write_text(abi.static_asserts())
    toolchain.compile_object(src, tmp_path / "asserts.o", target, include_dirs=(tmp_path,))


def test_static_asserts_catch_a_wrong_offset(tmp_path):
    (tmp_path / "wasmaot_abi.h").write_text(abi.c_header())
    src = tmp_path / "asserts.c"
    src.write_text(abi.static_asserts().replace("wasmaot_vmctx, funcs) == 32", "wasmaot_vmctx, funcs) == 40"))
    with pytest.raises(toolchain.ToolchainError, match="static assertion failed"):
        toolchain.compile_object(src, tmp_path / "asserts.o", include_dirs=(tmp_path,))


def test_cffi_layouts_match_abi():
    for s in abi.STRUCTS:
        assert ffi.sizeof(f"struct {s.name}") == s.size, s.name
        for f in s.fields:
            assert ffi.offsetof(f"struct {s.name}", f.name) == s.offset(f.name), (s.name, f.name)
    assert ffi.sizeof("union wasmaot_value") == abi.VALUE_SIZE


def _cdef_prototypes() -> list[str]:
    """The function declarations of the hand-written cdef (top-level statements with a
    parameter list), without the runtime's `extern` data symbols."""
    text = re.sub(r"/\*.*?\*/", "", _ffi.RUNTIME_CDEF, flags=re.DOTALL)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    statements, depth, current = [], 0, []
    for ch in text:
        current.append(ch)
        depth += ch == "{"
        depth -= ch == "}"
        if ch == ";" and depth == 0:
            statements.append("".join(current).strip())
            current = []
    return [s for s in statements if "(" in s and "{" not in s and not s.startswith("extern")]


def test_hand_written_cdef_matches_the_header(tmp_path):
    """Redeclaring every cffi prototype after the real header: any drift in a signature
    is a 'conflicting types' error.  Struct layouts and constants are asserted too."""
    build = toolchain.runtime_build("host")
    lines = ['#include <stddef.h>', '#include "wasmaot_rt.h"']
    lines += _cdef_prototypes()
    for name in ("wasmaot_config", "wasmaot_frame", "wasmaot_trap_info", "wasmaot_global", "wasmaot_extern"):
        ctype = ffi.typeof(f"struct {name}")
        lines.append(f"_Static_assert(sizeof(struct {name}) == {ffi.sizeof(ctype)}, \"{name}\");")
        for field, _ in ctype.fields:
            lines.append(f"_Static_assert(offsetof(struct {name}, {field}) == {ffi.offsetof(ctype, field)}, "
                         f"\"{name}.{field}\");")
    lines.append(f"_Static_assert(WASMAOT_TRAP_MAX_FRAMES == {_ffi.TRAP_MAX_FRAMES}, \"frames\");")
    lines.append(f"_Static_assert(WASMAOT_EXTERN_HOST_FUNC == {_ffi.EXTERN_HOST_FUNC}, \"host kind\");")
    lines.append(f"_Static_assert(WASMAOT_HOST_THROW == {_ffi.HOST_THROW}, \"host throw\");")
    src = tmp_path / "cdef_check.c"
    src.write_text("\n".join(lines) + "\n")
    # Every function of the header is declared to cffi, and nothing else.
    header = (toolchain.RUNTIME_INCLUDE_DIR / "wasmaot_rt.h").read_text()
    in_header = set(re.findall(r"\b(wasmaot_\w+)\(", header.split("the embedder API")[1]))
    in_cdef = {re.search(r"\b(wasmaot_\w+)\(", p).group(1) for p in _cdef_prototypes()}
    assert in_cdef == in_header
    toolchain.compile_object(src, tmp_path / "cdef_check.o", include_dirs=build.include_dirs)


LLVM_OF_C = {"void": "void", "int32_t": "i32", "int": "i32", "int64_t": "i64", "uint64_t": "i64"}


def _llvm(ctype) -> str:
    return "ptr" if ctype.kind == "pointer" else LLVM_OF_C[ctype.cname]


def test_runtime_functions_match_what_codegen_declares(rt):
    for name, (ret, params, _attrs) in abi.RUNTIME_FUNCTIONS.items():
        fn = ffi.typeof(getattr(rt, name))
        assert _llvm(fn.result) == ret, name
        assert tuple(_llvm(a) for a in fn.args) == params, name


def test_trap_messages_match_abi(rt):
    for code, _, message in abi.TRAPS:
        assert ffi.string(rt.wasmaot_trap_message(code)).decode() == message
    assert ffi.string(rt.wasmaot_trap_message(999)) == b"unknown trap"


def test_abi_version_mismatch_is_refused(rt, fake_libs):
    _, desc = fake_libs["plain"]
    copy = ffi.new("struct wasmaot_module_desc *")
    ffi.memmove(copy, desc, ffi.sizeof("struct wasmaot_module_desc"))
    copy.abi_version = abi.ABI_VERSION + 1
    err = _ffi.new_errbuf()
    assert rt.wasmaot_instance_new(copy, ffi.NULL, ffi.NULL, ffi.NULL, err, _ffi.ERRBUF_SIZE) == ffi.NULL
    assert _ffi.errbuf_text(err) == (f"module compiled for runtime ABI {abi.ABI_VERSION + 1}, "
                                     f"this runtime has {abi.ABI_VERSION}")


# --- the build configuration (driver/build_config.py) read by runtime_c/exe/main.c ---------


@pytest.mark.parametrize("target", ["x86_64-linux-musl", "aarch64-linux-musl"])
def test_build_config_static_asserts_compile(tmp_path, target):
    """The C compiler agrees with every offset build_config.py lays out."""
    from wasmaot.driver import build_config

    (tmp_path / build_config.HEADER_NAME).write_text(build_config.c_header())
    src = tmp_path / "asserts.c"
    src.write_text(f'#include <stddef.h>\n#include "{build_config.HEADER_NAME}"\n'
                   f"{build_config.static_asserts()}")
    toolchain.compile_object(src, tmp_path / "asserts.o", target, include_dirs=(tmp_path,))


@pytest.mark.parametrize("target", ["x86_64-linux-musl", "aarch64-linux-musl"])
def test_build_config_object_reads_back_in_c_as_written(tmp_path, target):
    """The configuration object (LLVM IR from build_config.py), linked with a C program
    compiled against the header, holds every value as given: every field, every byte
    value in a grant, the counts, the manifest in its section."""
    from wasmaot.driver import build_config, cpu
    from wasmaot.driver.grants import Grant
    from wasmaot.driver.targets import code_target

    arch = target.split("-")[0]
    level = cpu.resolve(arch, "x86-64-v4" if arch == "x86_64" else "aarch64-v8.2")
    every_byte = bytes(range(1, 256))
    runtime = toolchain.runtime_build(target)
    (tmp_path / "config.o").write_bytes(build_config.config_object(
        code_target(f"{arch}-linux"), max_memory=1, max_wasm_stack=2, locked=True,
        interruptible=True, timeout_ns=3, cpu=level,
        dirs=(Grant(every_byte, b"/g", readonly=True), Grant(b"/h2", b"/g2")),
        env=(b"E=" + every_byte, b"F"), listen=(b"[::1]:80",), manifest=b'{"a": 1}',
        manifest_section=".wasmaot.manifest"))
    src = tmp_path / "show.c"
    src.write_text(_SHOW_CONFIG)
    toolchain.compile_object(src, tmp_path / "show.o", target, include_dirs=runtime.include_dirs)
    exe = tmp_path / "show"
    toolchain._run([*toolchain.zig_command(), "cc", "-target", toolchain.resolve_target(target).zig_target,
                    "-static", "-o", str(exe), "show.o", "config.o", "-Wl,--gc-sections"],
                   "linking show", cwd=tmp_path)
    cmd = [str(exe)]
    if arch != platform.machine():
        qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
        if qemu is None:
            pytest.fail("qemu-aarch64-static is needed to run aarch64 executables")
        cmd = [qemu, *cmd]
    out = subprocess.run(cmd, capture_output=True, timeout=60, check=True).stdout
    hexed = every_byte.hex()
    assert out.decode().splitlines() == [
        f"1 2 1 1 3 {level.mask}",
        f"dirs 2: {hexed}/255 2f67/2 1; 2f6832/3 2f6732/3 0;",
        f"env 2: 453d{hexed}/257; 46/1;",
        "listen 1: 5b3a3a315d3a3830/8;",
        f"cpu {level.described().encode().hex()}/{len(level.described())}",
    ]
    manifest = _section(exe.read_bytes(), b".wasmaot.manifest")
    assert manifest == b'{"a": 1}'


# A C program that prints wasmaot_build through the header: each byte string as hex,
# its length, and whether the byte after it is the NUL main.c requires (else "!").
_SHOW_CONFIG = r"""#include <stdio.h>
#include "wasmaot_build_config.h"
static void show(const struct wasmaot_bytes *b) {
  for (uint64_t i = 0; i < b->len; i++) printf("%02x", b->data[i]);
  printf("/%llu%s", (unsigned long long)b->len, b->data[b->len] ? "!" : "");
}
int main(void) {
  const struct wasmaot_build_config *c = &wasmaot_build;
  printf("%llu %llu %llu %llu %llu %llu\n", (unsigned long long)c->max_memory_bytes,
         (unsigned long long)c->max_wasm_stack, (unsigned long long)c->locked,
         (unsigned long long)c->interruptible, (unsigned long long)c->timeout_ns,
         (unsigned long long)c->cpu_features);
  printf("dirs %llu:", (unsigned long long)c->ndirs);
  for (uint64_t i = 0; i < c->ndirs; i++) {
    printf(" "); show(&c->dirs[i].host); printf(" "); show(&c->dirs[i].guest);
    printf(" %llu;", (unsigned long long)c->dirs[i].readonly);
  }
  printf("\nenv %llu:", (unsigned long long)c->nenv);
  for (uint64_t i = 0; i < c->nenv; i++) { printf(" "); show(&c->env[i]); printf(";"); }
  printf("\nlisten %llu:", (unsigned long long)c->nlisten);
  for (uint64_t i = 0; i < c->nlisten; i++) { printf(" "); show(&c->listen[i]); printf(";"); }
  printf("\ncpu "); show(&c->cpu_level); printf("\n");
  return 0;
}
"""


def _section(elf: bytes, name: bytes) -> bytes:
    """The contents of section `name` of a 64-bit little-endian ELF file."""
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names = headers[shstrndx]
    for h in headers:
        start = names[4] + h[0]
        if elf[start:elf.index(b"\0", start)] == name:
            return elf[h[4]:h[4] + h[5]]
    raise AssertionError(f"no section {name!r}")


def test_build_config_refuses_a_mask_of_another_architecture():
    from wasmaot.driver import build_config, cpu

    with pytest.raises(ToolchainError, match="cpu_features are x86_64 rows"):
        build_config.llvm_ir(max_memory=0, max_wasm_stack=0, locked=False, interruptible=False,
                             timeout_ns=0, cpu=cpu.resolve("x86_64", "x86-64-v3"), dirs=(),
                             env=(), listen=(), manifest=b"{}",
                             manifest_section=".wasmaot.manifest", arch="aarch64")


def test_build_config_static_asserts_catch_a_wrong_offset(tmp_path):
    from wasmaot.driver import build_config

    (tmp_path / build_config.HEADER_NAME).write_text(build_config.c_header())
    src = tmp_path / "asserts.c"
    wrong = build_config.static_asserts().replace("wasmaot_build_dir, readonly) == 32",
                                                  "wasmaot_build_dir, readonly) == 24")
    assert wrong != build_config.static_asserts()
    src.write_text(f'#include <stddef.h>\n#include "{build_config.HEADER_NAME}"\n{wrong}')
    with pytest.raises(toolchain.ToolchainError, match="static assertion failed"):
        toolchain.compile_object(src, tmp_path / "asserts.o", include_dirs=(tmp_path,))
