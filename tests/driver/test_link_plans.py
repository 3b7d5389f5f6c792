"""Links through a remembered linker command (driver/toolchain.py: link_static,
link_module_shared).

The first link of a kind runs `zig cc ... -###`, which links and prints zig's `ld.lld`
command; later links run that command with their own inputs.  What must hold: the
executable (or the API's shared object) is byte-for-byte the one `zig cc` makes, on both targets; a plan naming a
path that is gone, or one that fails, falls back to `zig cc` (which also reports the
errors); a command line that cannot be read back unambiguously is not remembered."""

from __future__ import annotations

import json

import pytest

from wasmaot.commands.build import BuildOptions, build
from wasmaot.driver import toolchain
from wasmaot.driver.toolchain import LinkPlan, plan_from_line, plan_from_listing

WAT = b'(module (func (export "_start")) (memory 1) (data (i32.const 0) "x"))'


@pytest.fixture
def plans(tmp_path, monkeypatch):
    """Plans in a directory of this test's, and a log of the linker commands run."""
    where = tmp_path / "plans"
    monkeypatch.setattr(toolchain, "_plan_path",
                        lambda target, flags: where / f"{target.name}-{hash(flags) & 0xFFFF}.json")
    runs = []
    real_run = toolchain._run

    def run(cmd, what, cwd=None):
        if cmd[1] == "ld.lld" or "-###" in cmd:  # links only (not the runtime's compiles)
            runs.append(cmd[1])
        return real_run(cmd, what, cwd)

    monkeypatch.setattr(toolchain, "_run", run)
    return where, runs


def _wasm(tmp_path):
    from wasmaot.driver.wat import wat_to_wasm

    src = tmp_path / "m.wat"
    src.write_bytes(WAT)
    return wat_to_wasm(src)


@pytest.mark.parametrize("target", ["x86_64-linux", "aarch64-linux"])
def test_a_planned_link_makes_the_bytes_zig_cc_makes(tmp_path, plans, target):
    where, runs = plans
    data = _wasm(tmp_path)
    opts = BuildOptions(target=target, cache=False)  # both builds link
    first = build(data, tmp_path / "first", opts).read_bytes()
    assert runs == ["cc"] and len(list(where.iterdir())) == 1
    again = build(data, tmp_path / "again", opts).read_bytes()
    assert runs == ["cc", "ld.lld"]
    assert again == first


def test_a_planned_shared_link_makes_the_bytes_zig_cc_makes(tmp_path, plans):
    # The embedding API's (and so the spec scripts') link: a module's objects into a .so.
    where, runs = plans
    src = tmp_path / "m.c"
    src.write_text("int f(int x) { return x + 1; }\n")
    obj = toolchain.compile_object(src, tmp_path / "m.o")
    (tmp_path / "n.c").write_text("int g(int x) { return x - 1; }\n")
    other = toolchain.compile_object(tmp_path / "n.c", tmp_path / "n.o")
    runs.clear()
    first = toolchain.link_module_shared(obj, tmp_path / "first.so").read_bytes()
    assert runs == ["cc"] and len(list(where.iterdir())) == 1
    again = toolchain.link_module_shared(obj, tmp_path / "again.so", extra_inputs=(other,))
    assert runs == ["cc", "ld.lld"]  # two objects: the plan takes any number of inputs
    assert toolchain.link_module_shared(obj, tmp_path / "third.so").read_bytes() == first
    assert runs == ["cc", "ld.lld", "ld.lld"] and again.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".so", ".tmp")) == [
        "again.so", "first.so", "third.so"]


def test_a_plan_naming_a_missing_path_or_failing_falls_back_to_zig_cc(tmp_path, plans):
    where, runs = plans
    data = _wasm(tmp_path)
    opts = BuildOptions(cache=False)  # every build links
    first = build(data, tmp_path / "first", opts).read_bytes()
    (path,) = where.iterdir()
    argv = json.loads(path.read_text())["argv"]
    gone = [a if not a.endswith("/crt1.o") else str(tmp_path / "gone" / "crt1.o") for a in argv]
    path.write_text(json.dumps({"argv": gone}))
    assert build(data, tmp_path / "second", opts).read_bytes() == first
    assert runs == ["cc", "cc"]  # the plan was not tried, and zig cc wrote a good one again
    path.write_text(json.dumps({"argv": argv + ["--no-such-linker-flag"]}))
    assert build(data, tmp_path / "third", opts).read_bytes() == first
    assert runs == ["cc", "cc", "ld.lld", "cc"]
    path.write_text("not json")
    assert build(data, tmp_path / "fourth", opts).read_bytes() == first
    assert runs[-1] == "cc"


def test_a_line_that_cannot_be_read_back_is_not_a_plan(tmp_path):
    lib = tmp_path / "libc.a"
    lib.write_bytes(b"")
    line = f"ld.lld -static -o a.out {tmp_path}/crt1.o m.o rt.a {lib} -s"
    (tmp_path / "crt1.o").write_bytes(b"")
    plan = plan_from_line(line, "a.out", ["m.o", "rt.a"])
    assert plan == LinkPlan(("-static", "-o", "\0output", f"{tmp_path}/crt1.o", "\0inputs",
                             str(lib), "-s"))
    assert plan.expand("b.out", ["x.o", "y.o", "z.a"]) == [
        "-static", "-o", "b.out", f"{tmp_path}/crt1.o", "x.o", "y.o", "z.a", str(lib), "-s"]
    assert plan_from_line(line, "a b.out", ["m.o", "rt.a"]) is None  # a space in a name
    assert plan_from_line(line, "a.out", ["m.o", "other.a"]) is None  # inputs not found in order
    assert plan_from_line(line.replace("-s", "-o a.out"), "a.out", ["m.o", "rt.a"]) is None
    assert plan_from_line(line.replace(str(lib), "/no/such/libc.a"), "a.out", ["m.o", "rt.a"]) is None
    assert plan_from_line("zig: " + line, "a.out", ["m.o", "rt.a"]) is None
    lib.unlink()
    assert plan.expand("b.out", ["x.o"]) is None  # a path it names is gone


def test_the_plan_is_the_final_link_even_when_zig_first_builds_its_own_crt1(tmp_path):
    # What `zig cc -###` prints with a cold cache (a new ziglang install): the links that
    # build crt1.o and libc come first; the first `ld.lld` line is not ours.
    crt1 = tmp_path / "crt1.o"
    crt1.write_bytes(b"")
    listing = "\n".join([
        f"ld.lld -r -static -o {crt1} {tmp_path}/tmp-crt1.o",
        f"ar rcs {tmp_path}/libc.a {tmp_path}/aio.o",
        f"ld.lld -static -o a.out {crt1} m.o rt.a -s",
    ])
    assert plan_from_listing(listing, "a.out", ["m.o", "rt.a"]) == LinkPlan(
        ("-static", "-o", "\0output", str(crt1), "\0inputs", "-s"))
    assert plan_from_listing(listing.rsplit("\n", 1)[0], "a.out", ["m.o", "rt.a"]) is None
