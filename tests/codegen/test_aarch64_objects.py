"""Object code for aarch64: every valid module of the spec testsuite compiles to a
well-formed aarch64 object (running it comes with the next issue).

For each top-level `.wast` file, every `module` command's binary (converted once per
session by `wasm-tools json-from-wast`, with the helpers of tests/spec) is compiled
with `compile_module` for `aarch64-linux` at -O2, the level users get, and each object
must be:

  * an ELF64 little-endian relocatable file for EM_AARCH64 (183);
  * defining `wasmaot_module` (the descriptor the runtime loads) in exactly one object;
  * referring to no symbol outside the runtime's entry points (`abi.RUNTIME_FUNCTIONS`, and the unwinding symbols)
    and the few libc functions LLVM may emit calls to (`COMPILER_LIBC`).

The first compiled module of each file is also linked with zig into an aarch64 shared
object against the aarch64 runtime (`-z defs`: every reference must resolve); linking
all of them would double the run time for little more assurance.

-O2 everywhere: the whole suite (about 1,750 modules) takes about 35 s of compile time
on the 2-core machine, well inside the budget, so no -O0 shortcut is needed.  Modules
that use a feature of a later issue raise `UnsupportedFeature`: they are skipped and
counted per feature, and the totals are printed at the end of the run.
"""

from __future__ import annotations

import struct
import sys
from collections import Counter
from pathlib import Path

import pytest

# tests/spec/spectest.py: json-from-wast conversion and the module cases of a script.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spec"))
import spectest

from wasmaot.codegen import abi
from wasmaot.driver import toolchain
from wasmaot.driver.compile import CompileRequest, compile_module
from wasmaot.errors import UnsupportedFeature

TOP_LEVEL = [w for w in spectest.wast_files() if "/" not in w]
EM_AARCH64 = 183
ET_REL = 1
SHT_SYMTAB = 2
SHN_UNDEF = 0
COMPILER_LIBC = {"memcpy", "memmove", "memset"}
# Exceptions (codegen/exceptions.py): the personality of functions with landing pads, and
# the unwinder's entry that `resume` becomes (libunwind, linked with the runtime).
UNWINDING = {abi.PERSONALITY, "_Unwind_Resume"}

# file -> (modules compiled, Counter of skipped features), printed at the end of the run.
TOTALS: dict[str, tuple[int, Counter]] = {}


class _Summary:
    """A plugin object registered by the fixture below (this directory has no conftest)."""

    @staticmethod
    def pytest_terminal_summary(terminalreporter):
        if not TOTALS:
            return
        compiled = sum(c for c, _ in TOTALS.values())
        skipped: Counter = Counter()
        for _, s in TOTALS.values():
            skipped.update(s)
        tr = terminalreporter
        tr.section("aarch64 objects")
        tr.write_line(f"{len(TOTALS)} files, {compiled} modules compiled to aarch64 objects and "
                      f"checked, {sum(skipped.values())} skipped")
        for feature, n in skipped.most_common():
            tr.write_line(f"  skipped {n}: {feature}")


@pytest.fixture(scope="module", autouse=True)
def _print_totals(request):
    if not request.config.pluginmanager.has_plugin("aarch64-objects-summary"):
        request.config.pluginmanager.register(_Summary(), "aarch64-objects-summary")


def elf_symbols(obj: bytes) -> tuple[dict, list[tuple[str, bool]]]:
    """The ELF header fields we check, and (name, defined) for every named symbol."""
    if obj[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    ei_class, ei_data = obj[4], obj[5]
    header = {"class": ei_class, "data": ei_data}
    if ei_class != 2 or ei_data != 1:
        return header, []
    (e_type, e_machine, _version, _entry, _phoff, e_shoff, _flags, _ehsize, _phentsize,
     _phnum, e_shentsize, e_shnum, _shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", obj, 16)
    header.update(type=e_type, machine=e_machine)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, e_shoff + i * e_shentsize)
                for i in range(e_shnum)]
    symbols = []
    for sh in sections:
        if sh[1] != SHT_SYMTAB:
            continue
        offset, size, link, entsize = sh[4], sh[5], sh[6], sh[9]
        strtab = sections[link]
        names = obj[strtab[4]:strtab[4] + strtab[5]]
        for pos in range(offset + entsize, offset + size, entsize):  # entry 0 is null
            st_name, _info, _other, st_shndx, _value, _size = struct.unpack_from("<IBBHQQ", obj, pos)
            name = names[st_name:names.index(b"\0", st_name)].decode()
            if name:
                symbols.append((name, st_shndx != SHN_UNDEF))
    return header, symbols


@pytest.fixture(scope="session")
def converted_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spec-json-aarch64")


@pytest.fixture(scope="session")
def link_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("aarch64-link")


def test_testsuite_present():
    assert TOP_LEVEL, f"no .wast files under {spectest.TESTSUITE}: the spec testsuite is required"


def test_elf_reader_on_an_x86_object():
    """The reader itself: an x86-64 object is told apart from an aarch64 one."""
    wasm = b"\0asm\1\0\0\0"
    objects, _ = compile_module(wasm, CompileRequest("x86_64-linux", 0))
    header, symbols = elf_symbols(objects[0])
    assert header["machine"] == 62 and header["type"] == ET_REL
    assert ("wasmaot_module", True) in symbols


@pytest.mark.parametrize("wast", TOP_LEVEL)
def test_aarch64_objects(wast: str, converted_root: Path, link_dir: Path) -> None:
    out_dir = converted_root / spectest.safe_dir_name(wast)
    script, failure, _ = spectest.convert(wast, out_dir)
    if script is None:
        TOTALS[wast] = (0, Counter({failure: 1}))
        pytest.skip(failure)
    modules = [c for c in spectest.cases(script, out_dir, Counter()) if c.command == "module"]
    compiled, skipped, problems = 0, Counter(), []
    linked = False
    allowed = set(abi.RUNTIME_FUNCTIONS) | COMPILER_LIBC | UNWINDING
    for case in modules:
        where = f"{wast}:{case.line}"
        try:
            objects, _ = compile_module(case.wasm.read_bytes(), CompileRequest("aarch64-linux", 2),
                                        jobs=1)
        except UnsupportedFeature as e:
            skipped[e.message.split(" is not supported")[0]] += 1
            continue
        except Exception as e:  # noqa: BLE001 (a compiler crash is this test's failure)
            problems.append(f"{where}: {type(e).__name__}: {e}")
            continue
        compiled += 1
        checked = []
        for i, obj in enumerate(objects):
            try:
                header, symbols = elf_symbols(obj)
            except (ValueError, struct.error, IndexError) as e:
                header, symbols = {"error": str(e)}, []
            if (header.get("class"), header.get("data"), header.get("type"),
                    header.get("machine")) != (2, 1, ET_REL, EM_AARCH64):
                problems.append(f"{where}: object {i} is not an ELF64 LE aarch64 relocatable: {header}")
            checked.append(symbols)
        defined = {n for symbols in checked for n, d in symbols if d}
        undefined = {n for symbols in checked for n, d in symbols if not d}
        strangers = sorted(undefined - defined - allowed)
        if strangers:
            problems.append(f"{where}: refers to symbols outside the runtime: {strangers}")
        defining = sum(("wasmaot_module", True) in symbols for symbols in checked)
        if defining != 1:
            problems.append(f"{where}: {defining} objects define wasmaot_module (want 1)")
        if not linked and not problems:
            paths = []
            for i, obj in enumerate(objects):
                p = link_dir / f"{spectest.safe_dir_name(wast)}-{i}.o"
                p.write_bytes(obj)
                paths.append(p)
            try:
                toolchain.link_module_shared(paths[0], link_dir / f"{paths[0].stem}.so",
                                             "aarch64-linux-gnu", extra_inputs=tuple(paths[1:]))
            except Exception as e:  # noqa: BLE001
                problems.append(f"{where}: linking for aarch64 failed: {e}")
            linked = True
    TOTALS[wast] = (compiled, skipped)
    if problems:
        pytest.fail("\n".join(problems[:40]), pytrace=False)
    if not compiled and skipped:
        pytest.skip(f"every module skipped: {dict(skipped)}")


