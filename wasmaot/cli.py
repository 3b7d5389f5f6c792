"""The `wasmaot` command line.  The only module that prints.

Every problem with an input is reported as one line on stderr,
`FILE: <kind>: <message>`,
where kind is a `WasmError.kind` ("malformed module", "invalid module", ...),
`error` for a file that cannot be read, or `internal error` for a bug in wasmaot
(with the traceback only under `--debug`).  Exit status: 0 success, 1 a rejected
or unreadable input, 2 bad usage (click's own one-line usage errors).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import click

from wasmaot import __version__


class _Reporter:
    """Runs one step per input file and turns every failure into one line."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug
        self.failed = False

    def run(self, file: str, step: Callable[[], Any]) -> Any:
        """`step()`, or None after reporting why it failed."""
        from wasmaot.errors import WasmError

        try:
            return step()
        except WasmError as err:
            self._fail(file, err.kind, str(err))
        except OSError as err:
            self._fail(file, "error", f"cannot read file: {err.strerror or err}")
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # a bug in wasmaot: never a bare traceback
            if self.debug:
                import traceback  # only here: a millisecond of every start-up otherwise

                traceback.print_exc()
            self._fail(file, "internal error", f"{type(err).__name__}: {err}")
        return None

    def _fail(self, file: str, kind: str, message: str) -> None:
        self.failed = True
        message = " ".join(message.splitlines())  # one line, whatever the message holds
        click.echo(f"{file}: {kind}: {message}", err=True)


def _load(file: str):
    """FILE decoded and validated."""
    from wasmaot.commands.inputs import read_module_bytes

    data = read_module_bytes(file)
    from wasmaot.wasm import load_module

    return load_module(data)


def _inspect(file: str, as_json: bool) -> str:
    """The text of `wasmaot inspect FILE` (decoded, not validated), or the
    manifest of an executable made by `wasmaot build`."""
    from wasmaot.commands.inputs import read_module_bytes
    from wasmaot.commands.manifest import is_elf, read_manifest

    with open(file, "rb") as f:
        head = f.read(4)
    if is_elf(head):
        with open(file, "rb") as f:
            manifest = read_manifest(f.read())
        if as_json:
            return json.dumps(manifest, indent=2, sort_keys=True)
        return "\n".join(f"{k}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(manifest.items()))
    data = read_module_bytes(file)
    from wasmaot.commands.inspect import format_report, inspect_module
    from wasmaot.wasm import decode_module

    report = inspect_module(decode_module(data), file=file)
    return json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report)


def _cpu_option(f):
    """--cpu LEVEL (driver/cpu.py); checked against the target when used, so that
    a wrong one is one error line naming the target's levels."""
    from wasmaot.driver.cpu import level_names

    return click.option(
        "--cpu", default="default", show_default=True, metavar="LEVEL",
        help=f"CPU level ({', '.join(level_names())}): default is x86-64-v2 or aarch64 "
             f"baseline, baseline runs on any CPU of the architecture, native only on CPUs "
             f"like this one (README: CPU levels).")(f)
_QUIET_HELP = ("No progress line (shown on a terminal while a build that takes over 2 s "
               "compiles).")


_DETERMINISTIC_HELP = ("Same results on every CPU: relaxed SIMD takes one fixed choice and "
                       "every NaN from float arithmetic is the positive canonical NaN.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="wasmaot", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Print a Python traceback for internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """wasmaot: compile WebAssembly modules ahead of time to standalone native executables.

    FILE arguments may be binary modules (.wasm) or text modules (.wat, .wast).
    """
    ctx.obj = _Reporter(debug)


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing for valid files.")
@click.pass_obj
def validate(reporter: _Reporter, files: tuple[str, ...], quiet: bool) -> None:
    """Decode and validate each FILE (WebAssembly 3.0).

    Prints `FILE: valid`, or one line saying why FILE is malformed or invalid.
    Exits with status 1 if any file was rejected.
    """
    for file in files:
        module = reporter.run(file, lambda: _load(file))
        if module is not None and not quiet:
            click.echo(f"{file}: valid")
    click.get_current_context().exit(1 if reporter.failed else 0)


@cli.command()
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def inspect(reporter: _Reporter, file: str, as_json: bool) -> None:
    """Show the structure of FILE.

    Sections (offsets and sizes), imports, exports, memories, tables, globals,
    tags, function counts, the 10 largest functions by body size and the custom
    sections.  FILE is decoded but not validated: use `wasmaot validate` for that.
    """
    text = reporter.run(file, lambda: _inspect(file, as_json))
    if text is not None:
        click.echo(text)
    click.get_current_context().exit(1 if reporter.failed else 0)


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=2, show_default=True,
              help="Optimization level of the compiled modules.")
@click.option("--target", type=click.Choice(["x86_64-linux", "aarch64-linux"]), default=None,
              help="Run each script through a test executable built for this target "
                   "(under qemu-user if foreign) instead of in this process.")
@click.option("--bounds-checks", type=click.Choice(["guard", "explicit"]), default="guard",
              show_default=True, help="How the compiled modules bound memory accesses.")
@_cpu_option
@click.option("--deterministic", is_flag=True, help=_DETERMINISTIC_HELP)
@click.option("-v", "--verbose", is_flag=True, help="List every failure and skip.")
@click.pass_obj
def wast(reporter: _Reporter, files: tuple[str, ...], opt_level: int, target: str | None,
         bounds_checks: str, cpu: str, deterministic: bool, verbose: bool) -> None:
    """Run spec scripts (.wast) on native code.

    Prints one line per FILE and, last, `N passed, M failed, K skipped`.  A
    command is skipped only when it needs a feature this version does not
    compile (GC, threads); `-v` lists each skip and
    failure with its line.  Exits 1 if any command failed.

    By default the modules run in this process.  With --target, all modules
    of a script are compiled for that target and linked into one static test
    executable, which runs the script's instantiations and calls as the
    driver asks over a pipe; for another architecture, under qemu-user
    (e.g. `--target aarch64-linux` needs qemu-aarch64-static).
    """
    from wasmaot.commands.wast import run_file

    totals = [0, 0, 0]
    for file in files:
        result = reporter.run(file, lambda f=file: run_file(
            f, opt_level=opt_level, target=target,
            explicit_bounds_checks=bounds_checks == "explicit", cpu=cpu,
            deterministic=deterministic))
        if result is None:
            totals[1] += 1
            continue
        counts = (result.passed, result.failed, result.skipped)
        totals = [t + c for t, c in zip(totals, counts)]
        note = f" ({result.error})" if result.error else ""
        click.echo(f"{file}: {counts[0]} passed, {counts[1]} failed, {counts[2]} skipped{note}")
        for o in result.outcomes:
            if o.kind == "failed" or (verbose and o.kind == "skipped"):
                click.echo(f"  {file}:{o.line}: {o.kind}: {o.command}: {o.detail}")
    click.echo(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    click.get_current_context().exit(1 if totals[1] or reporter.failed else 0)


def _parse_size(text: str) -> int:
    units = {"": 1, "K": 1 << 10, "KI": 1 << 10, "M": 1 << 20, "MI": 1 << 20, "G": 1 << 30,
             "GI": 1 << 30}
    t = text.strip().upper().removesuffix("B")
    num = t.rstrip("KMGI")
    unit = t[len(num):]
    if not num.isdigit() or unit not in units:
        raise click.BadParameter(f"{text!r} is not a size (e.g. 64M, 512K, 1G)")
    return int(num) * units[unit]


def _check_timeout(ctx, param, text: str | None) -> str | None:
    """--timeout DURATION: checked here, so a bad one is a usage error."""
    from wasmaot.commands.duration import DurationError, parse_duration

    if text is not None:
        try:
            parse_duration(text)
        except DurationError as e:
            raise click.BadParameter(e.message) from None
    return text


def _timeout_ns(text: str | None) -> int:
    from wasmaot.commands.duration import parse_duration

    return 0 if text is None else parse_duration(text)


@cli.command()
@click.argument("file", metavar="IN.wasm|IN.wat")
@click.option("-o", "--output", required=True, metavar="OUT", help="The executable to write.")
@click.option("--target", type=click.Choice(["x86_64-linux", "aarch64-linux"]), default=None,
              help="Architecture (default: this machine's).")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=2, show_default=True)
@click.option("--dir", "dirs", multiple=True, metavar="HOST[::GUEST]",
              help="Grant a directory (read-write).")
@click.option("--ro-dir", "ro_dirs", multiple=True, metavar="HOST[::GUEST]",
              help="Grant a directory read-only.")
@click.option("--env", "env", multiple=True, metavar="NAME[=VAL]",
              help="Pass an environment variable (NAME alone: the host's value at run time).")
@click.option("--tcp-listen", "tcp_listen", multiple=True, metavar="ADDR:PORT",
              help="Grant a listening TCP socket.")
@click.option("--max-memory", default=None, metavar="SIZE", help="Cap on any memory (e.g. 256M).")
@click.option("--max-wasm-stack", default=None, metavar="SIZE", help="Wasm stack (default 512K).")
@click.option("--bounds-checks", type=click.Choice(["guard", "explicit"]), default="guard",
              show_default=True)
@click.option("--locked", is_flag=True,
              help="Ignore grants given at run time through WASMAOT_* variables.")
@_cpu_option
@click.option("--emit", type=click.Choice(["exe", "obj", "llvm-ir", "asm"]), default="exe",
              show_default=True, help="What to write to OUT.")
@click.option("--link", "link_files", multiple=True, metavar="FILE.c|.o|.a",
              help="C code defining non-WASI imports (see README: custom imports).")
@click.option("--timeout", default=None, metavar="DURATION", callback=_check_timeout,
              help="Stop the program with `wasm trap: interrupt` after DURATION (500ms, 2s, "
                   "1m); WASMAOT_TIMEOUT may change it at run time.")
@click.option("--deterministic", is_flag=True, help=_DETERMINISTIC_HELP)
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Compile everything again: reuse no executable or object that an earlier "
                   "build left in the cache.")
@click.option("-q", "--quiet", is_flag=True, help=_QUIET_HELP)
@click.pass_obj
def build(reporter: _Reporter, file: str, output: str, target, opt_level, dirs, ro_dirs, env,
          tcp_listen, max_memory, max_wasm_stack, bounds_checks, locked, cpu, emit,
          link_files, timeout, deterministic, no_cache, quiet) -> None:
    """Compile a module into a standalone, statically linked executable.

    The executable runs on any Linux of the target architecture with no runtime
    installed.  The guest can reach only what is granted: directories, variables
    and sockets given here, plus (unless --locked) those granted when it runs
    through WASMAOT_DIR, WASMAOT_RO_DIR, WASMAOT_ENV and WASMAOT_TCP_LISTEN
    (comma-separated; a backslash escapes "\\", "," and ":").  A failed build
    leaves OUT untouched.
    """
    from wasmaot.commands.build import BuildOptions, build as do_build
    from wasmaot.commands.progress import Progress
    from wasmaot.driver.grants import RunGrants
    from wasmaot.commands.inputs import read_module_bytes
    from wasmaot.driver.targets import host_code_target

    memory = _parse_size(max_memory) if max_memory else 0
    stack = _parse_size(max_wasm_stack) if max_wasm_stack else 0

    def step():
        grants = RunGrants.parse(dirs, ro_dirs, env, tcp_listen)  # the same forms as `run`
        opts = BuildOptions(
            target=target or host_code_target().name, opt_level=opt_level,
            dirs=grants.dirs, env=grants.env, tcp_listen=grants.tcp_listen,
            max_memory=memory, max_wasm_stack=stack, bounds_checks=bounds_checks,
            locked=locked, cpu=cpu, emit=emit, link=tuple(link_files),
            interruptible=timeout is not None, timeout_ns=_timeout_ns(timeout),
            deterministic=deterministic, cache=not no_cache)
        with Progress.on_terminal(sys.stderr, quiet) as progress:
            return do_build(read_module_bytes(file), output, opts, progress=progress)
    reporter.run(file, step)
    click.get_current_context().exit(1 if reporter.failed else 0)


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("file", metavar="IN.wasm|IN.wat")
@click.argument("args", nargs=-1, metavar="[-- ARGS...]")
@click.option("--dir", "dirs", multiple=True, metavar="HOST[::GUEST]")
@click.option("--ro-dir", "ro_dirs", multiple=True, metavar="HOST[::GUEST]")
@click.option("--env", "env", multiple=True, metavar="NAME[=VAL]")
@click.option("--tcp-listen", "tcp_listen", multiple=True, metavar="ADDR:PORT")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=2, show_default=True)
@click.option("--timeout", default=None, metavar="DURATION", callback=_check_timeout,
              help="Stop the program with `wasm trap: interrupt` after DURATION (500ms, 2s, 1m).")
@_cpu_option
@click.option("--deterministic", is_flag=True, help=_DETERMINISTIC_HELP)
@click.option("-q", "--quiet", is_flag=True, help=_QUIET_HELP)
@click.pass_obj
def run(reporter: _Reporter, file: str, args, dirs, ro_dirs, env, tcp_listen, opt_level,
        timeout, cpu, deterministic, quiet) -> None:
    """Build FILE for this machine (cached) and run it with ARGS.

    The executable is cached in $XDG_CACHE_HOME/wasmaot (keyed by the module,
    the flags and wasmaot itself); grants are passed when it starts, so one
    cached build serves every grant.  The exit status is the program's.
    """
    from wasmaot.driver.grants import RunGrants
    from wasmaot.commands.run import cached_executable, exec_with_grants
    from wasmaot.commands.progress import Progress

    grants = reporter.run(file, lambda: RunGrants.parse(dirs, ro_dirs, env, tcp_listen))
    def step():
        with Progress.on_terminal(sys.stderr, quiet) as progress:
            return cached_executable(file, opt_level, interruptible=timeout is not None,
                                     cpu=cpu, deterministic=deterministic, progress=progress)
    exe = None if grants is None else reporter.run(file, step)
    if exe is None:
        click.get_current_context().exit(1)
    exec_with_grants(exe, os.path.basename(file), list(args), grants, timeout=timeout)


@cli.command("install-launcher")
@click.option("--into", "into", default=None, metavar="PATH",
              help="Where to install it (default: the `wasmaot` script beside this Python, "
                   "which it replaces).")
@click.pass_obj
def install_launcher(reporter: _Reporter, into: str | None) -> None:
    """Install the native launcher as the `wasmaot` command.

    Python's own start-up takes about 10 ms; the launcher, a small static
    executable, runs a cached `wasmaot run` itself in about a millisecond and
    starts Python for everything else.  Run this again after reinstalling wasmaot.
    """
    from pathlib import Path

    from wasmaot.driver.launcher import install_launcher as install

    path = into or str(Path(sys.executable).with_name("wasmaot"))
    if reporter.run(path, lambda: install(path)) is None:
        click.get_current_context().exit(1)
    click.echo(f"installed the wasmaot launcher as {path}")


def main() -> None:
    """Console-script entry point (see wasmaot/entry.py for the fast path)."""
    cli(prog_name="wasmaot")
