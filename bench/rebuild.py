"""Rebuild times of `wasmaot build` with the cache (driver/reuse.py), against a clean build.

The input is bench/frontend.py's big C program (about 2.3 MB of code), or `--input`.
Four builds of an x86-64 executable at -O2, through the CLI as a user runs it:

  clean      --no-cache: everything compiled
  cached     the same module with the cache (its objects and executable are saved;
             entries left by an earlier run of this bench are reused)
  unchanged  the same module again: the remembered executable is copied
  edited     one function changed (a load at a new offset put in front of its code):
             only its partition (and seldom the next) is compiled again

Each run's edit uses a fresh offset, so that `edited` never finds its own result of an
earlier run.  The outputs of `edited` and of a clean build of the edited module are
compared byte for byte (a fifth build, not timed).

Usage:
    python bench/rebuild.py [--input x.wasm] [--function N]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import frontend  # bench/frontend.py: the bigc input

from wasmaot.wasm import decode_module
from wasmaot.wasm.leb128 import read_uleb, uleb


def with_load_in_front(data: bytes, func: int, offset: int) -> bytes:
    """`data` with `i32.const 0; i32.load offset=<offset>; drop` in front of defined
    function `func`'s instructions (the module must have a memory)."""
    module = decode_module(data)
    section = next(s for s in module.sections if s.id == 10)
    insert = b"\x41\x00\x28\x02" + uleb(offset) + b"\x1a"
    entries = []
    for i, code in enumerate(module.codes):
        _, start = read_uleb(data, code.offset)
        body = (data[start:code.body_offset] + (insert if i == func else b"")
                + data[code.body_offset:code.end])
        entries.append(uleb(len(body)) + body)
    content = uleb(len(entries)) + b"".join(entries)
    header = section.offset - 1  # back to the section's id byte, before its size
    while data[header] != 10 or read_uleb(data, header + 1)[1] != section.offset:
        header -= 1
    return data[:header] + b"\x0a" + uleb(len(content)) + content + \
        data[section.offset + section.size:]


def timed_build(wasm: Path, out: Path, *flags: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wasmaot", "build", "-q", "-O2", *flags, str(wasm),
                    "-o", str(out)], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description="wasmaot rebuild times with the cache")
    ap.add_argument("--input", type=Path, help="bench this module instead of bigc")
    ap.add_argument("--function", type=int, default=None,
                    help="the defined function to edit (default: the middle one)")
    args = ap.parse_args()
    path = args.input or frontend.build_bigc(4400, 1, False)
    data = path.read_bytes()
    func = args.function if args.function is not None else len(decode_module(data).codes) // 2
    edited = with_load_in_front(data, func, random.SystemRandom().randrange(1 << 16))
    code = frontend.section_sizes(data).get(10, 0)
    print(f"input: {path.name}: {code / 1e6:.2f} MB code; edit: function {func}")
    with tempfile.TemporaryDirectory(prefix="wasmaot-rebuild-") as tmp:
        work = Path(tmp)
        (work / "edited.wasm").write_bytes(edited)
        times = {
            "clean": timed_build(path, work / "clean", "--no-cache"),
            "cached": timed_build(path, work / "cached"),
            "unchanged": timed_build(path, work / "unchanged"),
            "edited": timed_build(work / "edited.wasm", work / "edited"),
        }
        timed_build(work / "edited.wasm", work / "edited-clean", "--no-cache")
        same = (work / "edited").read_bytes() == (work / "edited-clean").read_bytes()
        same &= (work / "unchanged").read_bytes() == (work / "clean").read_bytes()
    for name, seconds in times.items():
        print(f"  {name:<10}{seconds:>8.2f} s")
    print(f"outputs identical to clean builds: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
