"""The C toolchain: zig (from the `ziglang` wheel) builds the runtime and links modules.

    runtime_build(target)      -> RuntimeBuild: the C runtime for `target`, built once
                                  and cached (a shared library for *-gnu, an archive of
                                  objects for *-musl)
    compile_object(src, out)   -> compile one C file with the runtime's flags and headers
    link_module_shared(o, so)  -> link a module's object into a .so that takes the
                                  runtime's symbols from libwasmaot_rt.so

The ABI header `wasmaot_abi.h` is generated from `wasmaot.codegen.abi`, and
`wasmaot_build_config.h` (what an executable's `main` reads) from
`wasmaot.driver.build_config`, into each build directory; the runtime never
compiles against a hand-copied header.

Cache: `$XDG_CACHE_HOME/wasmaot/runtime/<target>-<key>/` (default ~/.cache), the key
hashing the wasmaot version, the runtime's sources, the ABI header, the target, the
flags and the zig version.  A build happens in a private temporary directory that is
renamed into place when complete, so a reader never sees half a build and
processes that race simply both build and one rename wins.

Builds are deterministic: fixed CPU baseline, no build id, sources named relative to
runtime_c/ and the build directory mapped away with -ffile-prefix-map, archives
written without timestamps.  Every failure is a `ToolchainError` with one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from wasmaot.driver.cache import cache_root
from wasmaot.driver.sources import RUNTIME_DIR
from wasmaot.driver.targets import Target, resolve_target
from wasmaot.errors import ToolchainError


RUNTIME_INCLUDE_DIR = RUNTIME_DIR / "include"
RUNTIME_LIBRARY_NAME = "libwasmaot_rt.so"
RUNTIME_ARCHIVE_NAME = "libwasmaot_rt.a"
ABI_HEADER_NAME = "wasmaot_abi.h"

# Flags for every C file of the runtime (and tests' C stand-ins for modules).
CFLAGS = (
    "-std=c11",
    "-O2",
    "-g0",  # no DWARF: backtraces use frame pointers, and DWARF would carry host paths
    "-fno-omit-frame-pointer",  # backtraces walk frame pointers through the runtime too
    "-fPIC",
    "-fvisibility=hidden",  # only WASMAOT_RT_API symbols are exported
    "-fno-sanitize=all",  # zig enables UBSan traps in some modes; the runtime's own checks suffice
    "-Wall",
    "-Werror",
)
# The unwinder wasm exceptions use (docs/RATIONALE.md, "Exceptions"): zig's LLVM
# libunwind, linked statically wherever generated code or the runtime may need it.
# Its symbols stay hidden inside each linked object (never exported from a shared
# object, where they would interpose on a C++ runtime's), and an object that
# references none of them (no exceptions) pulls in nothing.  In shared objects its
# DWARF, which names zig's directories on this host, is stripped (SHARED_STRIP;
# zig reads it as strip-all, which keeps .dynsym).  (-O2 at the link would build it
# optimized, but also turns on --gc-sections: throws measured no faster.)
UNWIND_LIBS = ("-lunwind",)
SHARED_STRIP = "-Wl,--strip-debug"
# Parallel compiler processes (the build machines are small and shared).
MAX_JOBS = 2
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class RuntimeBuild:
    target: Target
    directory: Path
    include_dirs: tuple[Path, ...]  # wasmaot_rt.h's directory, then the generated header's
    objects: tuple[Path, ...]
    library: Path | None  # libwasmaot_rt.so (gnu targets)
    archive: Path | None  # libwasmaot_rt.a (musl targets)

    def main_object(self, name: str) -> Path:
        """The compiled `runtime_c/exe/NAME.c` (musl targets): an executable's main."""
        return self.directory / EXE_SOURCES_DIR / f"{name}.o"


def zig_command() -> list[str]:
    """How to run zig: the binary of this Python's ziglang wheel, run directly
    (`python -m ziglang` would start an interpreter first, ~30 ms a call)."""
    try:
        import ziglang
    except ImportError:
        raise ToolchainError("zig not found: install the ziglang wheel (pip install ziglang)") from None
    binary = Path(ziglang.__file__).with_name("zig")
    if os.access(binary, os.X_OK):
        return [str(binary)]
    return [sys.executable, "-m", "ziglang"]


def zig_version() -> str:
    """The ziglang wheel's version, from the name of its dist-info directory beside the
    package (importlib.metadata would cost 10-17 ms of every build's start-up); else
    importlib.metadata's answer."""
    try:
        import ziglang
    except ImportError:
        return "unknown"
    site = Path(ziglang.__file__).resolve().parent.parent
    try:
        names = [n for n in os.listdir(site) if n.startswith("ziglang-") and n.endswith(".dist-info")]
    except OSError:
        names = []
    if len(names) == 1:
        return names[0].removeprefix("ziglang-").removesuffix(".dist-info")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ziglang")
    except PackageNotFoundError:
        return "unknown"


# Sources that are not part of the runtime library: the executable's `main`, and
# the `wasmaot` command's native launcher (driver/launcher.py).
EXE_SOURCES_DIR = "exe"
LAUNCHER_SOURCES_DIR = "launcher"


def runtime_sources() -> list[Path]:
    """The runtime's C files, relative to RUNTIME_DIR, in a stable order."""
    return sorted(p.relative_to(RUNTIME_DIR) for p in RUNTIME_DIR.rglob("*.c")
                  if p.relative_to(RUNTIME_DIR).parts[0] not in (EXE_SOURCES_DIR,
                                                                 LAUNCHER_SOURCES_DIR))


def _abi_header() -> str:
    from wasmaot.codegen import abi

    return abi.c_header()


def _build_config_header() -> str:
    from wasmaot.driver import build_config

    return build_config.c_header()


def _generated_headers() -> dict[str, str]:
    """The headers generated from Python definitions, by file name."""
    from wasmaot.driver.build_config import HEADER_NAME

    return {ABI_HEADER_NAME: _abi_header(), HEADER_NAME: _build_config_header()}


def _build_key(target: Target) -> str:
    from wasmaot import __version__

    h = hashlib.sha256()
    for part in (__version__, zig_version(), target.name, target.zig_target, target.cpu, *CFLAGS,
                 *_generated_headers().values(), Path(__file__).read_text()):  # this file: the build recipe
        h.update(part.encode())
        h.update(b"\0")
    for path in sorted(p for p in RUNTIME_DIR.rglob("*") if p.suffix in (".c", ".h")
                       and p.relative_to(RUNTIME_DIR).parts[0] != LAUNCHER_SOURCES_DIR):
        h.update(str(path.relative_to(RUNTIME_DIR)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:20]


def _first_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "error:" in line:
            return line
    return lines[-1] if lines else "no diagnostic"


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    """Runs a zig command; its stderr (ToolchainError if it fails)."""
    try:
        proc = subprocess.run(cmd, check=False, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{what}: zig timed out after {TIMEOUT_SECONDS} s") from None
    except OSError as e:
        raise ToolchainError(f"{what}: cannot run zig: {e}") from None
    if proc.returncode != 0:
        err = ToolchainError(f"{what}: {_first_error_line(proc.stderr + proc.stdout)}")
        err.details = proc.stderr  # the whole diagnostic, for --debug
        raise err
    return proc.stderr


def _target_flags(target: Target) -> list[str]:
    return ["-target", target.zig_target, f"-mcpu={target.cpu}"]


def compile_object(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    target: str | Target = "host",
    *,
    include_dirs: tuple = (),
    extra_flags: tuple = (),
    cwd: Path | None = None,
) -> Path:
    """Compiles one C file with the runtime's flags into `output`."""
    target = resolve_target(target)
    output = Path(output)
    cmd = [*zig_command(), "cc", *_target_flags(target), *CFLAGS]
    for d in include_dirs:
        cmd += ["-I", str(d)]
    cmd += [*extra_flags, "-c", os.fspath(source), "-o", str(output)]
    _run(cmd, f"compiling {os.fspath(source)} for {target.name}", cwd=cwd)
    return output


def _build_runtime_into(target: Target, out: Path) -> None:
    # Imported only here: a build that finds the runtime in the cache skips it.
    from concurrent.futures import ThreadPoolExecutor

    include = out / "include"
    objdir = out / "obj"
    include.mkdir(parents=True)
    objdir.mkdir()
    for name, text in _generated_headers().items():
        (include / name).write_text(text)
    # Sources are named relative to runtime_c/ (compiled from there) and both
    # directories are mapped away, so no absolute path reaches the output.
    prefix_maps = (f"-ffile-prefix-map={RUNTIME_DIR}=runtime_c", f"-ffile-prefix-map={out}=build")
    sources = runtime_sources()
    objects = [objdir / (str(src.with_suffix("")).replace(os.sep, "_") + ".o") for src in sources]

    def one(pair: tuple[Path, Path]) -> Path:
        src, obj = pair
        return compile_object(src, obj, target, include_dirs=(RUNTIME_INCLUDE_DIR, include),
                              extra_flags=prefix_maps, cwd=RUNTIME_DIR)

    with ThreadPoolExecutor(max_workers=MAX_JOBS) as pool:
        list(pool.map(one, zip(sources, objects)))
    names = [o.name for o in objects]
    if target.shared_runtime:
        _run([*zig_command(), "cc", *_target_flags(target), "-shared", "-o", f"../{RUNTIME_LIBRARY_NAME}",
              *names, f"-Wl,-soname,{RUNTIME_LIBRARY_NAME}", "-Wl,-z,defs", "-Wl,--build-id=none",
              "-lpthread", *UNWIND_LIBS, SHARED_STRIP],
             f"linking {RUNTIME_LIBRARY_NAME} for {target.name}", cwd=objdir)
    else:
        # zig ar is llvm-ar: D = deterministic (zero timestamps, uids, modes).
        _run([*zig_command(), "ar", "rcsD", f"../{RUNTIME_ARCHIVE_NAME}", *names],
             f"archiving {RUNTIME_ARCHIVE_NAME} for {target.name}", cwd=objdir)
        # The mains of executables (build's, the wast test executable's), once.
        exe_dir = out / EXE_SOURCES_DIR
        exe_dir.mkdir()
        mains = sorted((RUNTIME_DIR / EXE_SOURCES_DIR).glob("*.c"))
        with ThreadPoolExecutor(max_workers=MAX_JOBS) as pool:
            list(pool.map(one, [(src.relative_to(RUNTIME_DIR), exe_dir / f"{src.stem}.o")
                                for src in mains]))


def _describe(target: Target, directory: Path) -> RuntimeBuild:
    objdir = directory / "obj"
    objects = tuple(sorted(objdir.glob("*.o")))
    library = directory / RUNTIME_LIBRARY_NAME
    archive = directory / RUNTIME_ARCHIVE_NAME
    return RuntimeBuild(
        target=target,
        directory=directory,
        include_dirs=(RUNTIME_INCLUDE_DIR, directory / "include"),
        objects=objects,
        library=library if target.shared_runtime else None,
        archive=None if target.shared_runtime else archive,
    )


def _complete(build: RuntimeBuild) -> bool:
    out = build.library or build.archive
    mains = build.archive is None or build.main_object("main").is_file()
    return out is not None and out.is_file() and bool(build.objects) and mains


def runtime_build(target: str | Target = "host") -> RuntimeBuild:
    """The runtime built for `target`, from the cache or built now (and cached)."""
    target = resolve_target(target)
    parent = cache_root() / "runtime"
    final = parent / f"{target.name}-{_build_key(target)}"
    build = _describe(target, final)
    if _complete(build):
        return build
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # incomplete: someone deleted files from the cache
            shutil.rmtree(final, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=parent))
    except OSError as e:
        raise ToolchainError(f"cannot create the runtime cache in {parent}: {e}") from None
    try:
        _build_runtime_into(target, tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process finished the same build first; theirs is identical.
            if not _complete(_describe(target, final)):
                raise
    except OSError as e:
        raise ToolchainError(f"cannot write the runtime cache in {parent}: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _describe(target, final)


def link_module_shared(
    object_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    target: str | Target = "host",
    *,
    extra_inputs: tuple = (),
) -> Path:
    """Links a module's object into a shared object whose runtime symbols come
    from libwasmaot_rt.so (recorded as DT_NEEDED by its soname, so the copy the
    process already loaded is used: load the runtime first).  Written
    atomically: `out_path` is complete or absent.  A module with landing pads gets
    its own hidden copy of the unwinder (`resume` calls _Unwind_Resume), which
    continues the runtime's unwind: the unwinder keeps its state in the exception."""
    target = resolve_target(target)
    if not target.shared_runtime:
        raise ToolchainError(f"link_module_shared: {target.name} has no shared runtime (use a -gnu target)")
    runtime = runtime_build(target)
    out_path = Path(out_path)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        # Absolute inputs, the output by its name in its directory: the link runs there.
        inputs = [os.path.abspath(p) for p in (object_path, *extra_inputs)]
        _link_planned(target, (f"-mcpu={target.cpu}", "-shared"), Path(tmp).name, inputs,
                      (str(runtime.library), "-Wl,-z,defs", "-Wl,--build-id=none", "-lm",
                       *UNWIND_LIBS, SHARED_STRIP),
                      f"linking {out_path.name} for {target.name}", out_path.parent)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_path


# --- links through a remembered linker command ---------------------------------------------
# `zig cc` spends 30-80 ms of a link finding its libraries for the target (it hashes its
# sources to look up crt1.o, libc.a, libunwind.a, compiler_rt in its cache); the linker
# itself takes about 10 ms.  With `-###`, zig prints the `ld.lld` command it runs (and
# runs it), so the first link of a kind remembers that command as a plan, and later links
# of the same kind run `zig ld.lld` with it directly: the same linker, the same arguments,
# the same bytes out.  A plan is used only while every absolute path in it still exists
# (zig's cache is content-addressed: a path that exists holds what it held), and a link
# that fails through a plan is run again through `zig cc`, whose diagnostic is reported.

_PLAN_INPUTS, _PLAN_OUTPUT = "\0inputs", "\0output"


@dataclass(frozen=True)
class LinkPlan:
    """The linker's arguments with the inputs (one marker) and the output left open."""
    argv: tuple

    def expand(self, output: str, inputs: list[str]) -> list[str] | None:
        """The arguments for this link; None if a path the plan names is gone."""
        out = []
        for a in self.argv:
            if a == _PLAN_INPUTS:
                out.extend(inputs)
            elif a == _PLAN_OUTPUT:
                out.append(output)
            elif a.startswith("/") and not os.path.exists(a):
                return None
            else:
                out.append(a)
        return out


def plan_from_line(line: str, output: str, inputs: list[str]) -> LinkPlan | None:
    """The plan of zig's printed `ld.lld ...` command of a link of `inputs` into `output`,
    or None if the line cannot be read back unambiguously (it is words joined by spaces,
    unquoted: a name with a space makes it ambiguous)."""
    words = line.strip().split(" ")
    if words[0] != "ld.lld" or any(" " in a or not a for a in [output, *inputs]):
        return None
    argv = words[1:]
    for k in range(len(argv) - len(inputs) + 1):
        if argv[k:k + len(inputs)] == inputs:
            argv[k:k + len(inputs)] = [_PLAN_INPUTS]
            break
    else:
        return None
    if argv.count("-o") != 1 or argv[argv.index("-o") + 1] != output:
        return None
    argv[argv.index("-o") + 1] = _PLAN_OUTPUT
    if any(a.startswith("/") and not os.path.exists(a) for a in argv):
        return None
    return LinkPlan(tuple(argv))


def plan_from_listing(listing: str, output: str, inputs: list[str]) -> LinkPlan | None:
    """The plan of the link of `inputs` into `output` among the commands `zig cc -###`
    printed.  The final link is the last `ld.lld` line; with a cold cache, zig first
    prints the links that build its own crt1.o and libraries, which are not plans."""
    lines = [ln for ln in listing.splitlines() if ln.startswith("ld.lld ")]
    return next(filter(None, (plan_from_line(ln, output, inputs) for ln in reversed(lines))),
                None)


def _plan_path(target: Target, flags: tuple) -> Path:
    h = hashlib.sha256()
    for part in (str(zig_command()), zig_version(), target.zig_target, *flags):
        h.update(part.encode() + b"\0")
    return cache_root() / "link-plans" / f"{target.name}-{h.hexdigest()[:20]}.json"


def _read_plan(path: Path) -> LinkPlan | None:
    try:
        argv = json.loads(path.read_text())["argv"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    return LinkPlan(tuple(argv))


def _write_plan(path: Path, plan: LinkPlan) -> None:
    """Atomically; a plan that cannot be written is simply not remembered."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".plan-", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump({"argv": list(plan.argv)}, f)
        os.replace(tmp, path)
    except OSError:
        pass


def link_static(target: Target, output: str, inputs: list[str], flags: tuple, what: str,
                cwd: Path) -> None:
    """`zig cc -target T -static -o output inputs flags` (run in `cwd`), through the
    remembered plan of such links when there is one."""
    _link_planned(target, ("-static",), output, inputs, flags, what, cwd)


def _link_planned(target: Target, mode: tuple, output: str, inputs: list[str], flags: tuple,
                  what: str, cwd: Path) -> None:
    """`zig cc -target T mode -o output inputs flags` (run in `cwd`), through the
    remembered plan of such links when there is one."""
    path = _plan_path(target, mode + flags)
    plan = _read_plan(path)
    argv = plan.expand(output, inputs) if plan is not None else None
    if argv is not None:
        try:
            _run([*zig_command(), "ld.lld", *argv], what, cwd=cwd)
            return
        except ToolchainError:
            pass  # `zig cc` below says what is wrong, as it would have without a plan
    cmd = [*zig_command(), "cc", "-target", target.zig_target, *mode, "-o", output,
           *inputs, *flags]
    plan = plan_from_listing(_run(cmd + ["-###"], what, cwd=cwd), output, inputs)
    if plan is not None:
        _write_plan(path, plan)
