"""`wasmaot run`: build for this machine through a cache, then exec.

The cache entry is keyed by the module's bytes, the flags and wasmaot's own
fingerprint (driver/cache.py).  Builds are written atomically, so runs that
race both build and one rename wins; a reader never sees half a file.  Grants
go to the executable through its run-time variables (WASMAOT_DIR, ...), escaped
as driver/grants.py defines, so one cached build serves every set of grants and
any bytes of a path or value arrive as they were given.
"""

from __future__ import annotations

import os
import sys

from ..driver.cache import module_key, run_executable_path, run_flags
from ..driver.grants import VAR_PREFIX, GrantError, RunGrants
from ..driver.run_forms import (ARGS_SEPARATOR, DEFAULT_OPT_LEVEL, DETERMINISTIC_OPTION,
                                GRANT_OPTIONS, OPT_LEVEL_OPTIONS)
from .inputs import read_module_bytes
from ..driver.host import host_target_name


def cached_executable(file: str, opt_level: int, *, interruptible: bool = False,
                      cpu: str = "default", deterministic: bool = False,
                      progress=None) -> str:
    """`interruptible`: built with --timeout support (no built-in timeout; the
    run gives one through WASMAOT_TIMEOUT), cached apart from the plain build,
    which has no interruption checks at all.  `cpu`: the --cpu level.
    `deterministic`: --deterministic, cached apart too.  `progress`: shows a
    build (commands/progress.py)."""
    # A cache hit must start fast: the compiler (LLVM, zig) is imported on a miss only.
    data = read_module_bytes(file)
    target = host_target_name()
    flags = run_flags(target, opt_level, cpu=cpu, interruptible=interruptible,
                      deterministic=deterministic)
    exe = run_executable_path(module_key(data, flags))
    if not os.path.exists(exe):
        from pathlib import Path

        from .build import BuildOptions, build

        os.makedirs(os.path.dirname(exe), exist_ok=True)
        build(data, Path(exe), BuildOptions(target=target, opt_level=opt_level,
                                            interruptible=interruptible, cpu=cpu,
                                            deterministic=deterministic),
              progress=progress)
    return exe


def grant_environment(grants: RunGrants, timeout: str | None = None) -> dict[bytes, bytes]:
    """The executable's environment: ours without any WASMAOT_* variable (only
    the grants given to `run` apply), plus those that carry `grants` and the
    timeout."""
    prefix = VAR_PREFIX.encode()
    environ = {k: v for k, v in os.environb.items() if not k.startswith(prefix)}
    environ.update(grants.environment())
    if timeout is not None:
        environ[b"WASMAOT_TIMEOUT"] = timeout.encode()
    return environ


def exec_with_grants(exe: str, argv0: str, args: list, grants: RunGrants, *,
                     timeout: str | None = None) -> None:
    """Replace this process with the executable (argv[0] is the module's name)."""
    os.execve(exe, [argv0, *args], grant_environment(grants, timeout))


def fast_run(argv: list) -> bool:
    """`wasmaot run` without importing the CLI framework, so that a cached run
    starts in a few tens of milliseconds.  Handles the plain forms only
    (driver/run_forms.py: the native launcher takes the same); returns False for
    anything else (help, errors, unusual spellings), which the full CLI then
    parses and reports.  Returns only if it did not exec."""
    grants = {v: [] for v in GRANT_OPTIONS.values()}
    opt_level, file, args, deterministic = DEFAULT_OPT_LEVEL, None, [], False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == ARGS_SEPARATOR:
            args = argv[i + 1:]
            break
        if a in GRANT_OPTIONS and i + 1 < len(argv):
            grants[GRANT_OPTIONS[a]].append(argv[i + 1])
            i += 2
            continue
        if a in OPT_LEVEL_OPTIONS:
            opt_level = OPT_LEVEL_OPTIONS.index(a)
        elif a == DETERMINISTIC_OPTION:
            deterministic = True
        elif a.startswith("-") or file is not None:
            return False
        else:
            file = a
        i += 1
    if file is None or not os.path.isfile(file):
        return False
    try:
        run_grants = RunGrants.parse(**grants)
    except GrantError:  # the full CLI reports it
        return False
    from .progress import Progress

    try:
        with Progress.on_terminal(sys.stderr) as progress:
            exe = cached_executable(file, opt_level, deterministic=deterministic,
                                    progress=progress)
    except Exception:  # let the full CLI report it in its one-line format
        return False
    exec_with_grants(exe, os.path.basename(file), args, run_grants)
    return True
