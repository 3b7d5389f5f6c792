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
import traceback
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
                traceback.print_exc()
            self._fail(file, "internal error", f"{type(err).__name__}: {err}")
        return None

    def _fail(self, file: str, kind: str, message: str) -> None:
        self.failed = True
        message = " ".join(message.splitlines())  # one line, whatever the message holds
        click.echo(f"{file}: {kind}: {message}", err=True)


def _load(file: str):
    """FILE decoded and validated."""
    from wasmaot.driver.inputs import read_module_bytes

    data = read_module_bytes(file)
    from wasmaot.wasm import load_module

    return load_module(data)


def _inspect(file: str, as_json: bool) -> str:
    """The text of `wasmaot inspect FILE` (decoded, not validated)."""
    from wasmaot.driver.inputs import read_module_bytes

    data = read_module_bytes(file)
    from wasmaot.driver.inspect import format_report, inspect_module
    from wasmaot.wasm import decode_module

    report = inspect_module(decode_module(data), file=file)
    return json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report)


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
@click.option("-v", "--verbose", is_flag=True, help="List every failure and skip.")
@click.pass_obj
def wast(reporter: _Reporter, files: tuple[str, ...], opt_level: int, verbose: bool) -> None:
    """Run spec scripts (.wast) on native code.

    Prints one line per FILE and, last, `N passed, M failed, K skipped`.  A
    command is skipped only when it needs a feature this version does not
    compile (SIMD, GC, exception handling, threads); `-v` lists each skip and
    failure with its line.  Exits 1 if any command failed.
    """
    from wasmaot.driver.wast import run_file

    totals = [0, 0, 0]
    for file in files:
        result = reporter.run(file, lambda f=file: run_file(f, opt_level=opt_level))
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="wasmaot")
