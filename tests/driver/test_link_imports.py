"""`wasmaot build --link`: non-WASI imports bound to C functions."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver.link import import_symbol
from wasmaot.errors import LinkError

APP = """#include <stdio.h>
__attribute__((import_module("env"), import_name("add_i32"))) int add_i32(int, int);
__attribute__((import_module("env"), import_name("scale"))) double scale(double);
int main(void) { printf("%d %.2f\\n", add_i32(40, 2), scale(1.5)); return 0; }
"""
HOST = """#include <stdint.h>
int32_t wasmaot_import_env__add_5Fi32(struct wasmaot_vmctx *vm, int32_t a, int32_t b)
{ (void)vm; return a + b; }
double wasmaot_import_env__scale(struct wasmaot_vmctx *vm, double x) { (void)vm; return x * 2; }
"""


@pytest.fixture(scope="module")
def app_wasm(tmp_path_factory) -> bytes:
    d = tmp_path_factory.mktemp("app")
    (d / "app.c").write_text(APP)
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "wasm32-wasi", "-O2",
                    str(d / "app.c"), "-o", str(d / "app.wasm")], check=True)
    return (d / "app.wasm").read_bytes()


def test_symbol_names_escape_everything_but_letters_and_digits():
    assert import_symbol("env", "add_i32") == "wasmaot_import_env__add_5Fi32"
    assert import_symbol("a.b", "x y") == "wasmaot_import_a_2Eb__x_20y"


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
@pytest.mark.parametrize("kind", ["c", "o", "a"])
def test_imports_bound_to_c_code_from_source_object_or_archive(app_wasm, tmp_path, kind, target):
    src = tmp_path / "host.c"
    src.write_text(HOST)
    link = src
    if kind in ("o", "a"):
        obj = tmp_path / "host.o"
        subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", f"{target}-musl",
                        "-c", str(src), "-o", str(obj)], check=True)
        link = obj
        if kind == "a":
            link = tmp_path / "libhost.a"
            subprocess.run([sys.executable, "-m", "ziglang", "ar", "rcs", str(link), str(obj)],
                           check=True)
    exe = build(app_wasm, tmp_path / "app", BuildOptions(target=target, link=(str(link),)))
    qemu = [] if target == "x86_64-linux" else [shutil.which("qemu-aarch64-static") or "qemu"]
    out = subprocess.run([*qemu, str(exe)], capture_output=True, text=True)
    assert (out.stdout, out.returncode) == ("42 3.00\n", 0)


def test_mistyped_c_definition_is_a_build_error(app_wasm, tmp_path):
    bad = tmp_path / "bad.c"
    bad.write_text(HOST.replace("int32_t wasmaot_import_env__add_5Fi32",
                                "int64_t wasmaot_import_env__add_5Fi32"))
    with pytest.raises(LinkError, match="conflicting types"):
        build(app_wasm, tmp_path / "app", BuildOptions(link=(str(bad),)))


def test_every_missing_import_is_listed(app_wasm, tmp_path):
    empty = tmp_path / "empty.c"
    empty.write_text("int unrelated;\n")
    with pytest.raises(LinkError) as info:
        build(app_wasm, tmp_path / "app", BuildOptions(link=(str(empty),)))
    message = str(info.value)
    assert "env::add_i32" in message and "env::scale" in message
    assert not (tmp_path / "app").exists()
