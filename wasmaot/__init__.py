"""wasmaot: compile WebAssembly modules ahead of time to standalone native executables.

Kept light on purpose: importing `wasmaot` must not pull in llvmlite, cffi or the
frontend, so `wasmaot --version` and the CLI's start-up stay fast.
"""

__version__ = "0.1.0"
