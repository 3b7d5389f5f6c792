"""The `wasmaot` console script.

`wasmaot run` of a cached build should start in a few tens of milliseconds,
less than importing the CLI framework takes, so its plain forms are handled
before `wasmaot.cli` is imported (wasmaot/commands/run.py: fast_run).  Anything
else goes to the full CLI.  (Faster still: the native launcher, driver/launcher.py,
installed as the `wasmaot` command, which runs this for what it does not take.)
"""

import sys


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "run":
        from wasmaot.commands.run import fast_run

        fast_run(sys.argv[2:])  # execs on success; otherwise the full CLI reports
    from wasmaot.cli import main as cli_main

    cli_main()
