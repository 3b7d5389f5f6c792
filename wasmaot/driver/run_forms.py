"""The plain forms of `wasmaot run` that are taken without the CLI framework,
defined once for both that take them: commands/run.py's fast_run and the native
launcher (runtime_c/launcher/launcher.c, given these by driver/launcher.py).

    wasmaot run [--dir X] [--ro-dir X] [--env X] [--tcp-listen X] [-O0..-O3]
                [--deterministic] FILE [-- ARGS...]

Imports nothing: fast_run reads these on a cached run's start-up."""

RUN_COMMAND = "run"
OPT_LEVEL_OPTIONS = ("-O0", "-O1", "-O2", "-O3")  # -ON, spelled as one argument
DEFAULT_OPT_LEVEL = 2
DETERMINISTIC_OPTION = "--deterministic"
ARGS_SEPARATOR = "--"  # the module's arguments follow
# The grant options, each with the RunGrants.parse argument it fills.
GRANT_OPTIONS = {"--dir": "dirs", "--ro-dir": "ro_dirs", "--env": "env", "--tcp-listen": "tcp_listen"}
# A module file with one of these suffixes (any case) is text, which
# commands/inputs.py converts first.
TEXT_SUFFIXES = (".wat", ".wast")
