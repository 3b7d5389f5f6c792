"""`wasmaot build`: a WebAssembly module to a static native executable.

Steps: decode and validate; bind every import at build time (WASI preview1
to the runtime's C functions; anything else is a build error for now, listing
each); compile to objects for the target; generate the build configuration
(baked grants, limits, and the manifest that `wasmaot inspect` reads back: an
object LLVM compiles in-process, driver/build_config.py); link statically with zig against musl and the runtime archive; strip; move
into place.  The output file is written atomically: a failed build leaves no
partial file and never replaces an existing one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import LinkError, ToolchainError
from ..driver import llvm, reuse
from ..driver.cache import compiler_fingerprint, digest, sha256
from ..driver.cpu import CpuChoice
from ..driver.grants import Grant, check_count, env_grant, listen_grant, manifest_value
from ..driver.targets import code_target
from ..driver.toolchain import zig_version

# The compile pipeline (decoding, lowering, the build configuration, linking) is
# imported by `_compile_and_link` only: an unchanged rebuild copies the remembered
# executable, and importing the pipeline would be most of its time.

MANIFEST_SECTION = ".wasmaot.manifest"


@dataclass(frozen=True)
class BuildOptions:
    target: str = "x86_64-linux"
    opt_level: int = 2
    dirs: tuple = ()  # Grant
    env: tuple = ()  # "NAME=VAL" or "NAME"
    tcp_listen: tuple = ()
    max_memory: int = 0  # bytes, 0: the module's limits
    max_wasm_stack: int = 0  # bytes, 0: 512 KiB
    bounds_checks: str = "guard"
    locked: bool = False
    strip: bool = True
    cpu: str = "default"
    emit: str = "exe"  # or "obj", "llvm-ir", "asm": stop after code generation
    link: tuple = ()  # --link .c/.o/.a files providing non-WASI imports (driver/link.py)
    # --timeout: code checks for interruption at loop headers, and the program
    # is interrupted after timeout_ns (0: only if WASMAOT_TIMEOUT says so).
    interruptible: bool = False
    timeout_ns: int = 0
    deterministic: bool = False  # --deterministic (CodegenOptions.deterministic)
    # Reuse the executables of earlier builds, and the objects of earlier builds of
    # large modules (driver/reuse.py); --no-cache builds everything again.
    cache: bool = True
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Grants are bytes from here on (driver/grants.py); a bad one stops the
        # build before any work.
        env = tuple(env_grant(e) for e in self.env)
        listen = tuple(listen_grant(a) for a in self.tcp_listen)
        for g in self.dirs:
            if not isinstance(g, Grant):
                raise TypeError(f"BuildOptions.dirs holds Grant values, not {type(g).__name__}")
        for what, items in (("directory", self.dirs), ("environment", env), ("listen", listen)):
            check_count(len(items), what)
        object.__setattr__(self, "env", env)
        object.__setattr__(self, "tcp_listen", listen)


def _bind_imports(module, ctx, link_files: tuple) -> tuple:
    """(module, name, C symbol) for every import, and the (where, symbol,
    functype) of those the --link files must define; LinkError listing every
    import that cannot be bound."""
    from ..driver import link, wasi

    table = wasi.functions()
    bound, problems, custom = [], [], []
    for imp in module.imports:
        where = f"{imp.module}::{imp.name}"
        if imp.kind not in ("func", "func_exact"):
            problems.append(f"{where}: a {imp.kind} import cannot be provided to an executable")
            continue
        ft = ctx.types.comp(ctx.types.canon[imp.desc])
        fn = table.get(imp.name) if imp.module == wasi.MODULE else None
        if fn is None and imp.module != wasi.MODULE and link_files:
            symbol = link.import_symbol(imp.module, imp.name)
            try:
                link.prototype(symbol, ft)
            except LinkError as e:
                problems.append(f"{where}: {e.message}")
                continue
            custom.append((where, symbol, ft))
            bound.append((imp.module, imp.name, symbol))
            continue
        if fn is None:
            problems.append(f"{where}: unknown import (not a WASI preview1 function; "
                            f"give its C definition with --link)")
            continue
        if ft.params != fn.params or ft.results != fn.results:
            problems.append(f"{where}: type mismatch: module declares {ft}, WASI has "
                            f"[{' '.join(fn.params)}] -> [{' '.join(fn.results)}]")
            continue
        bound.append((imp.module, imp.name, fn.symbol))
    if problems:
        raise LinkError(link.problems_line("cannot bind imports", problems))
    return tuple(bound), custom


def manifest_for(data: bytes, opts: BuildOptions, cpu: CpuChoice | None = None) -> str:
    flags = {"opt_level": opts.opt_level, "bounds_checks": opts.bounds_checks,
             "max_memory": opts.max_memory, "max_wasm_stack": opts.max_wasm_stack,
             "locked": opts.locked}
    if opts.interruptible:
        flags["timeout_ns"] = opts.timeout_ns
    if opts.deterministic:
        flags["deterministic"] = True
    return json.dumps({
        "wasmaot": __version__,
        "module_sha256": sha256(data).hexdigest(),
        "target": opts.target,
        "flags": flags,
        # The --cpu level and the CPU features the executable checks when it starts.
        **({"cpu": cpu.manifest()} if cpu is not None else {}),
        # Bytes as driver/grants.py shows them: text if UTF-8, else {"hex": ...}.
        "grants": {"dirs": [{"host": manifest_value(g.host), "guest": manifest_value(g.guest),
                             "readonly": g.readonly} for g in opts.dirs],
                   "env": [manifest_value(e) for e in opts.env],
                   "tcp_listen": [manifest_value(a) for a in opts.tcp_listen]},
    }, sort_keys=True, separators=(",", ":"))


def build(data: bytes, output: str | os.PathLike, opts: BuildOptions, *,
          progress=None) -> Path:
    """`progress`: compile_module's callback (commands/progress.py shows it)."""
    output = Path(output)
    out_dir = output.resolve().parent
    if not out_dir.is_dir():  # before any work: a doomed build should fail fast
        raise ToolchainError(f"cannot write {output}: {out_dir} is not a directory")
    cpu = llvm.cpu_choice(code_target(opts.target), opts.cpu)  # a bad --cpu fails first
    key = _build_key(data, opts, cpu)
    remembered = reuse.load(reuse.BUILDS, key) if key else None
    if remembered is not None:
        return _write_atomically(remembered, output, mode=0o755)
    content = _compile_and_link(data, output, opts, cpu, progress)
    if key:  # only executables have one
        reuse.save(reuse.BUILDS, key, content)
    return _write_atomically(content, output, mode=0o755 if opts.emit == "exe" else 0o644)


def _compile_and_link(data: bytes, output: Path, opts: BuildOptions, cpu: CpuChoice,
                      progress) -> bytes:
    """The executable's bytes (with --emit, the object, IR or assembly)."""
    import gc

    from ..driver.compile import CompileRequest, compile_module, frontend

    module, ctx = frontend(data)
    # The decoded module lives until the process ends (a command builds once): keep the
    # cyclic collector from traversing its objects (100,000 segments) at every collection.
    gc.freeze()
    native, custom = _bind_imports(module, ctx, opts.link)
    req = CompileRequest(opts.target, opts.opt_level, opts.bounds_checks == "explicit", native,
                         opts.cpu, "obj" if opts.emit == "exe" else opts.emit,
                         interruptible=opts.interruptible, deterministic=opts.deterministic,
                         standalone=True, reuse_objects=opts.cache)
    # One piece when emitting a single object/IR/assembly file.
    objects, _ = compile_module(data, req, module=module, ctx=ctx, split=opts.emit == "exe",
                                progress=progress)
    if opts.emit != "exe":
        return b"".join(objects)
    return _link(data, output, objects, custom, opts, cpu)


def _link(data: bytes, output: Path, objects: list, custom: list, opts: BuildOptions,
          cpu: CpuChoice) -> bytes:
    """The static executable of the module's `objects`, the --link files (defining
    the `custom` imports), the build configuration and the runtime."""
    from ..driver import build_config, link
    from ..driver.toolchain import UNWIND_LIBS, compile_object, link_static, runtime_build

    target = code_target(opts.target).toolchain("musl")  # executables link musl statically
    runtime = runtime_build(target)
    with tempfile.TemporaryDirectory(prefix="wasmaot-build-") as tmp:
        tmpdir = Path(tmp)
        inputs = []
        for i, obj in enumerate(objects):
            path = tmpdir / f"module{i}.o"
            path.write_bytes(obj)
            inputs.append(path.name)
        if custom:
            linked_inputs = link.compile_link_inputs(
                list(opts.link), target, tmpdir, [(sym, ft) for _, sym, ft in custom],
                lambda *a, extra_flags=(), **k: compile_object(
                    *a, extra_flags=(*extra_flags, "-Wno-error"), **k),
                runtime.include_dirs)
            link.check_definitions([(w, sym) for w, sym, _ in custom], linked_inputs)
            inputs.extend(str(p) for p in linked_inputs)
        (tmpdir / "build_config.o").write_bytes(build_config.config_object(
            code_target(opts.target), max_memory=opts.max_memory,
            max_wasm_stack=opts.max_wasm_stack, locked=opts.locked,
            interruptible=opts.interruptible, timeout_ns=opts.timeout_ns, dirs=opts.dirs,
            env=opts.env, listen=opts.tcp_listen, cpu=cpu,
            manifest=manifest_for(data, opts, cpu).encode(), manifest_section=MANIFEST_SECTION))
        inputs += ["build_config.o", str(runtime.main_object("main"))]
        linked = tmpdir / "a.out"
        flags = ("-Wl,--build-id=none", "-Wl,--gc-sections", "-lm", *UNWIND_LIBS)
        link_static(target, linked.name, [*inputs, str(runtime.archive)],
                    flags + (("-s",) if opts.strip else ()),
                    f"linking {output.name} for {opts.target}", tmpdir)
        return linked.read_bytes()


def _build_key(data: bytes, opts: BuildOptions, cpu: CpuChoice) -> str | None:
    """The key of the executable this build makes, or None if it is not to be
    remembered: only executables, and not with --link files (whose headers the key
    cannot see).  Every option is in it (grants are baked into the executable), the
    CPU level as resolved here (`native` is this machine's), wasmaot's fingerprint
    (its Python and runtime sources) and zig's version (the libc and the linker)."""
    if not opts.cache or opts.emit != "exe" or opts.link:
        return None
    return digest(reuse.BUILDS, compiler_fingerprint(), zig_version(), repr(opts),
                  repr(cpu), data)


def _write_atomically(content: bytes, output: Path, *, mode: int) -> Path:
    """A temporary file in the output's directory, renamed over it: readers see
    the old file or the complete new one, and a failure leaves the old one."""
    out_dir = output.resolve().parent
    if not out_dir.is_dir():
        raise ToolchainError(f"cannot write {output}: {out_dir} is not a directory")
    fd, staged = tempfile.mkstemp(prefix=f".{output.name}.", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(staged, mode)
        os.replace(staged, output)
    except BaseException:
        if os.path.exists(staged):
            os.unlink(staged)
        raise
    return output
