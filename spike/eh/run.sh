#!/bin/sh
# Issue 10 spike: build and run the zero-cost EH prototype on x86-64 and aarch64
# (qemu), print the throw/no-throw/size measurements, then the nounwind cost on
# two examples/ programs.  Usage: spike/eh/run.sh [--no-bench]
set -e
cd "$(dirname "$0")/../.."
PY=${PY:-/work/main/.venv/bin/python}
PYTHONPATH=$PWD nice "$PY" spike/eh/spike.py "$@"
case " $* " in *" --no-bench "*) exit 0 ;; esac
PYTHONPATH=$PWD nice "$PY" spike/eh/nounwind_cost.py
