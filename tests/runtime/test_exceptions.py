"""Wasm exceptions in the runtime (runtime_c/exception.c): throwing across frames to a
landing pad, tag identity, the lifetime of exception objects, an exception leaving its
activation, host functions throwing, traps staying uncatchable, tag imports, and an
executable whose _start lets an exception escape, on x86-64 and aarch64.

The module is eh_module.py's hand-written IR in the shape the lowering emits."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from eh_module import NAMES, NUM_TYPES, OUTER, TYPE_OF_TAG, build_objects
from harness import HERE, HostFunc, Instance, ffi

from wasmaot import _ffi
from wasmaot.codegen import abi
from wasmaot.driver import build_config, cpu, toolchain
from wasmaot.driver.targets import code_target
from wasmaot.errors import Trap

# thrower's `which`
THROW0, THROW1, THROW2, UNREACHABLE, CALL_HOST, THROW_NULL, THROW_GLOBAL, DEEP, AT_LIMIT, RETURN = range(10)
EXCEPTION = abi.TRAP_CODES["EXCEPTION"]
VARIANTS = {"plain": (), "import_tag": ("-DEH_IMPORT_TAG",)}


@pytest.fixture(scope="session")
def eh_libs(tmp_path_factory, rt):
    """variant -> (cffi library, descriptor, path), linked as the API links modules."""
    libs = {}
    for name, defines in VARIANTS.items():
        out = tmp_path_factory.mktemp(f"eh_{name}")
        code, desc = build_objects(out, "host", "x86_64-linux", defines)
        so = toolchain.link_module_shared(code, out / "eh.so", extra_inputs=(desc,))
        libs[name] = (*_ffi.load_module_library(so), so)
    return libs


@pytest.fixture(scope="session")
def type_ids(rt):
    """One set of canonical ids for both variants, so their tag types are comparable."""
    base = rt.wasmaot_rt_reserve_type_ids(NUM_TYPES)
    for i in range(NUM_TYPES):
        assert rt.wasmaot_rt_register_type(base + i, -1) == 0
    return [base + i for i in range(NUM_TYPES)]


class Host(HostFunc):
    """A host function whose Python callable returns an i32, or an exception object to
    throw into the calling wasm code."""

    def __init__(self, rt, fn):
        self.rt = rt
        super().__init__(fn)

    def _call(self, data, args, results):
        try:
            r = self.fn(args[0].i32)
            if isinstance(r, int):
                results[0].i32 = r
                return 0
            assert self.rt.wasmaot_host_throw(r) == 0
            return _ffi.HOST_THROW
        except BaseException as e:  # noqa: BLE001 - kept and re-raised by the caller
            self.pending = e
            return 1


@pytest.fixture
def make(rt, eh_libs, type_ids):
    made = []

    def make(variant="plain", host=None, tag=None):
        """host: a callable for Host, or a HostFunc."""
        if not isinstance(host, HostFunc):
            host = Host(rt, host or (lambda x: x))
        inst = Instance(rt, eh_libs[variant][:2], host=host, tag=tag, type_ids=type_ids, init=False)
        made.append(inst)
        inst.init()
        return inst

    yield make
    for inst in made:
        inst.free()


def escaped(inst, which, v):
    """Calls outer(which, v), which must let an exception escape: (exception, frame names)."""
    with pytest.raises(Trap, match="^thrown Wasm exception$"):
        inst.call(OUTER, which, v)
    info = inst.trap_info
    assert info.code == EXCEPTION and info.exception != ffi.NULL
    return info.exception, [NAMES[info.frames[i].func_index] for i in range(info.nframes)]


def payload(rt, exn):
    cells = rt.wasmaot_exception_values(exn)
    return [cells[i].i64 for i in range(exn.num_values)]


def test_no_throw_returns_normally(make):
    assert make().call(OUTER, RETURN, 4) == 5  # mid adds 1


def test_throw_is_caught_by_the_matching_pad_with_its_payload(make, rt):
    inst = make()
    live = rt.wasmaot_exceptions_live()
    # tag 0: catch0's pad, two frames above the throw
    assert inst.call(OUTER, THROW0, 3) == 100000 + 3 + 3000
    # tag 1: catch0's pad does not match and resumes; outer's, three frames up, catches
    assert inst.call(OUTER, THROW1, 5) == 200000 + 5
    # `catch` freed both
    assert rt.wasmaot_exceptions_live() == live


def test_throw_at_the_stack_limit_is_caught(make, rt):
    """The unwinder runs in the margin below the stack limit (a few KiB of 256)."""
    inst = make()
    live = rt.wasmaot_exceptions_live()
    assert inst.call(OUTER, AT_LIMIT, 42) == 200042
    assert rt.wasmaot_exceptions_live() == live


def test_many_throws_do_not_leak(make, rt):
    inst = make()
    live = rt.wasmaot_exceptions_live()
    for i in range(2000):
        assert inst.call(OUTER, THROW1, i) == 200000 + i
    assert rt.wasmaot_exceptions_live() == live


def test_a_referenced_exception_is_kept_and_can_be_thrown_again(make, rt):
    inst = make()
    live = rt.wasmaot_exceptions_live()
    assert inst.call(OUTER, THROW2, 7) == 300007  # catch_ref: the exnref is in global 0
    assert rt.wasmaot_exceptions_live() == live + 1
    exn = ffi.cast("struct wasmaot_exception *", inst.rt.wasmaot_instance_global(inst.inst, 0).value.ref)
    assert exn.referenced == 1 and exn.tag == rt.wasmaot_instance_tag(inst.inst, 2)
    # throw_ref of it: the same object, caught by catch_ref again, still not freed
    assert inst.call(OUTER, THROW_GLOBAL, 0) == 300007
    assert rt.wasmaot_exceptions_live() == live + 1
    assert payload(rt, exn) == [7, 7000]


def test_throw_ref_of_null_traps(make):
    inst = make()
    with pytest.raises(Trap, match="^null reference$"):
        inst.call(OUTER, THROW_GLOBAL, 0)  # global 0 is still null


def test_uncaught_exception_ends_the_activation_with_tag_and_payload(make, rt):
    inst = make()
    live = rt.wasmaot_exceptions_live()
    exn, frames = escaped(inst, THROW2, 8)  # tag 2 with payload 8: outer takes only 7
    assert exn.tag == rt.wasmaot_instance_tag(inst.inst, 2)
    assert exn.tag.num_values == 2 and exn.tag.type_id == inst.type_ids[TYPE_OF_TAG[2]]
    assert payload(rt, exn) == [8, 8000]
    # where it was thrown, innermost first, each frame once (two pads resumed it)
    assert frames == ["thrower", "mid", "catch0", "outer"]
    # the embedder may keep it: never freed
    assert exn.referenced == 1 and rt.wasmaot_exceptions_live() == live + 1
    # the instance stays usable
    assert inst.call(OUTER, THROW1, 1) == 200001


@pytest.mark.parametrize("which,message", [(UNREACHABLE, "wasm `unreachable` instruction executed"),
                                           (DEEP, "call stack exhausted")])
def test_traps_inside_try_regions_are_not_caught(make, which, message):
    """unreachable under two pads; stack exhaustion under thousands of catch_all pads."""
    inst = make()
    with pytest.raises(Trap, match=f"^{message}$") as e:
        inst.call(OUTER, which, 0)
    assert inst.trap_info.code != EXCEPTION and inst.trap_info.exception == ffi.NULL
    if which == UNREACHABLE:
        assert [f.func_name for f in e.value.frames] == ["thrower", "mid", "catch0", "outer"]
    assert inst.call(OUTER, THROW0, 1) == 100000 + 1 + 1000  # pads still work afterwards


def test_host_function_throws_into_wasm(make, rt):
    def host(x):
        tag = rt.wasmaot_instance_tag(inst.inst, x % 2)  # tag 0 or tag 1
        values = ffi.new("union wasmaot_value[2]")
        values[0].i32, values[1].i64 = x, 5000
        return rt.wasmaot_exception_new(tag, values)

    inst = make(host=host)
    assert inst.call(OUTER, CALL_HOST, 4) == 100000 + 4 + 5000  # tag 0: catch0
    assert inst.call(OUTER, CALL_HOST, 3) == 200000 + 3  # tag 1: outer


def test_host_throw_outside_a_host_callback_is_refused(rt, make):
    inst = make()
    exn = rt.wasmaot_exception_new(rt.wasmaot_instance_tag(inst.inst, 0), ffi.NULL)
    assert rt.wasmaot_host_throw(exn) == -1
    assert payload(rt, exn) == [0, 0]


class ThrowsNothing(HostFunc):
    def _call(self, data, args, results):
        return _ffi.HOST_THROW  # without wasmaot_host_throw: an embedder bug


def test_host_returning_throw_without_an_exception_traps_host(make):
    inst = make(host=ThrowsNothing(None))
    with pytest.raises(Trap, match="^host function failed$"):
        inst.call(OUTER, CALL_HOST, 0)


def test_exception_escaping_a_nested_activation_is_handed_to_the_host(make, rt):
    """host -> nested outer(2, 8) escapes: the nested call returns EXCEPTION (no host frame
    is unwound); the host throws it on; it escapes the outer activation too, same object."""
    seen = []

    def host(x):
        exn, frames = escaped(inst, THROW2, 8)
        seen.append((int(ffi.cast("uintptr_t", exn)), frames))
        return exn

    inst = make(host=host)
    exn, frames = escaped(inst, CALL_HOST, 0)
    assert int(ffi.cast("uintptr_t", exn)) == seen[0][0]
    assert seen[0][1] == ["thrower", "mid", "catch0", "outer"]
    assert frames == ["thrower", "mid", "catch0", "outer"]  # thrown again from the host call
    assert payload(rt, exn) == [8, 8000]


def test_tag_identity_across_instances(make, rt):
    a = make()
    b = make("import_tag", tag=rt.wasmaot_instance_tag(a.inst, 0))
    assert rt.wasmaot_instance_tag(b.inst, 0) == rt.wasmaot_instance_tag(a.inst, 0)
    # b's own tags are its own, even where the type is the same (tag 2, like tag 0)
    assert rt.wasmaot_instance_tag(b.inst, 2) != rt.wasmaot_instance_tag(a.inst, 2)

    def throw_tag(inst, index):
        def host(x):
            return rt.wasmaot_exception_new(rt.wasmaot_instance_tag(inst.inst, index), ffi.NULL)
        return host

    # a's catch0 catches b's tag 0 (it is a's), not b's tag 2 (a's outer does not catch
    # tag 2 with payload 0, so it escapes carrying b's tag)
    a.host.fn = throw_tag(b, 0)
    assert a.call(OUTER, CALL_HOST, 0) == 100000
    a.host.fn = throw_tag(b, 2)
    exn, _ = escaped(a, CALL_HOST, 0)
    assert exn.tag == rt.wasmaot_instance_tag(b.inst, 2)


def test_tag_import_type_mismatch_is_a_link_error(make, rt):
    a = make()
    with pytest.raises(RuntimeError, match='^import "env" "tag": tag type mismatch$'):
        make("import_tag", tag=rt.wasmaot_instance_tag(a.inst, 1))  # [i32] for [i32 i64]
    with pytest.raises(RuntimeError, match='^import "env" "tag": no tag given$'):
        make("import_tag", tag=ffi.NULL)


def test_host_made_tags(make, rt, type_ids):
    tag = rt.wasmaot_tag_new(type_ids[TYPE_OF_TAG[0]], 2)
    try:
        b = make("import_tag", tag=tag)
        assert rt.wasmaot_instance_tag(b.inst, 0) == tag
        b.host.fn = lambda x: rt.wasmaot_exception_new(tag, ffi.NULL)
        assert b.call(OUTER, CALL_HOST, 0) == 100000
        b.free()
    finally:
        rt.wasmaot_tag_free(tag)


def test_an_exception_never_unwinds_past_its_activation(tmp_path, eh_libs):
    """Entered through a thunk without the catch pad, an uncaught exception would unwind
    into the runtime's and the host's frames: the runtime aborts instead."""
    lib_path = eh_libs["plain"][2]
    script = tmp_path / "scenario.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from harness import Instance
        from wasmaot import _ffi
        rt = _ffi.load_runtime()
        inst = Instance(rt, _ffi.load_module_library({str(lib_path)!r}))
        print(inst.call({OUTER}, {THROW1}, 1), flush=True)  # caught: fine through any thunk
        args = _ffi.ffi.new("union wasmaot_value[2]")
        args[0].i32, args[1].i32 = {THROW2}, 8
        results = _ffi.ffi.new("union wasmaot_value[1]")
        rt.wasmaot_invoke(inst.desc.entry_thunks[2], inst.func({OUTER}), args, results, _ffi.ffi.NULL)
        print("survived")
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == -signal.SIGABRT, proc.stderr
    assert proc.stdout == "200001\n"
    assert proc.stderr == ("wasmaot runtime: a wasm exception left its activation without being "
                           "caught by an entry thunk\n")


# --- executables: both targets --------------------------------------------------------------

EXE_TARGETS = {"x86_64-linux-musl": "x86_64-linux", "aarch64-linux-musl": "aarch64-linux"}


def _link_executable(tmp_path, target):
    """eh_module as `wasmaot build` links a module: main.c, a build configuration, the
    runtime archive, the unwinder."""
    arch = target.split("-")[0]
    code, desc = build_objects(tmp_path, target, EXE_TARGETS[target])
    runtime = toolchain.runtime_build(target)
    config = tmp_path / "config.o"
    config.write_bytes(build_config.config_object(
        code_target(EXE_TARGETS[target]), max_memory=0, max_wasm_stack=0, locked=False,
        interruptible=False, timeout_ns=0, cpu=cpu.resolve(arch, cpu.DEFAULT), dirs=(), env=(),
        listen=(), manifest=b"{}", manifest_section=".wasmaot.manifest"))
    exe = tmp_path / "eh"
    toolchain._run([*toolchain.zig_command(), "cc", "-target", runtime.target.zig_target, "-static",
                    "-o", str(exe), str(code), str(desc), str(config), str(runtime.main_object("main")),
                    str(runtime.archive), "-Wl,--gc-sections", "-lm", *toolchain.UNWIND_LIBS],
                   "linking the exception test executable")
    return exe


def _run_executable(exe, target):
    cmd = [str(exe)]
    if target.startswith("aarch64"):
        qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
        if qemu is None:
            pytest.fail("qemu-aarch64-static is needed to run aarch64 executables")
        cmd = [qemu, *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("target", EXE_TARGETS)
def test_executable_reports_an_exception_escaping_start(tmp_path, target):
    """_start catches tag 1 three frames up, tag 0 two frames up and tag 1 thrown 2 KiB
    above the stack limit (a wrong result would trap: exit 134), then lets tag 2 escape:
    wasmtime's status 1, not a trap's 134."""
    proc = _run_executable(_link_executable(tmp_path, target), target)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ("wasm exception: thrown Wasm exception\n"
                           "wasm backtrace:\n"
                           "  0: thrower\n  1: mid\n  2: catch0\n  3: outer\n  4: start\n")


@pytest.mark.parametrize("target", EXE_TARGETS)
def test_a_module_without_exceptions_links_no_unwinder(tmp_path, target):
    """The runtime refers to exception.c only weakly (registry.c, host.c), so a module
    that throws nothing gets neither it nor libunwind; the exception module gets both."""
    from wasmaot.commands.build import BuildOptions, build
    from wasmaot.driver.wat import wat_to_wasm

    hello = HERE.parent.parent / "examples" / "hello.wat"
    exe = build(wat_to_wasm(hello), tmp_path / "hello", BuildOptions(target=EXE_TARGETS[target], strip=False))
    proc = _run_executable(exe, target)
    assert (proc.returncode, proc.stdout) == (0, "Hello, world!\n")
    assert not {"_Unwind_ForcedUnwind", "wasmaot_rt_throw"} & _defined_symbols(exe)
    assert {"_Unwind_ForcedUnwind", "wasmaot_rt_throw"} <= _defined_symbols(
        _link_executable(tmp_path / "eh", target))


def _defined_symbols(path) -> set[str]:
    nm = subprocess.run(["nm", "--defined-only", str(path)], capture_output=True, text=True, check=True)
    return {line.split()[-1] for line in nm.stdout.splitlines() if line.strip()}
