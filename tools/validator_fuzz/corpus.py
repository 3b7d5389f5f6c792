"""The seed corpus: spec testsuite modules, `wasm-tools smith` modules and `wasm-tools mutate`
outputs, built once per run into a directory and loaded by every worker.

Everything is a function of the seed and the sizes asked for, so two runs with the same
arguments fuzz the same inputs.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from wasmaot.driver.wat import wasm_tools_executable

REPO = Path(__file__).resolve().parents[2]
# Where the project's tests find the spec testsuite (a checkout beside the repository).
TESTSUITE = REPO.parent / "shared" / "testsuite"

# smith with every feature our validator implements switched on (see README, "Feature set").
# Off: proposals we do not implement (compact imports, shared-everything threads) and
# custom descriptors, which wasmtime (the fast reference) does not implement either.
SMITH_FLAGS = [
    "--bulk-memory-enabled", "true", "--exceptions-enabled", "true",
    "--extended-const-enabled", "true", "--gc-enabled", "true", "--memory64-enabled", "true",
    "--multi-value-enabled", "true", "--reference-types-enabled", "true",
    "--relaxed-simd-enabled", "true", "--saturating-float-to-int-enabled", "true",
    "--sign-extension-ops-enabled", "true", "--simd-enabled", "true",
    "--tail-call-enabled", "true", "--threads-enabled", "true",
    "--wide-arithmetic-enabled", "true", "--custom-page-sizes-enabled", "true",
    "--compact-imports-enabled", "false", "--custom-descriptors-enabled", "false",
    "--shared-everything-threads-enabled", "false",
    "--generate-custom-sections", "true", "--max-memories", "4", "--max-tables", "4",
    "--max-instructions", "200",
]


@dataclass(frozen=True)
class CorpusSpec:
    seed: int
    spec_files: int  # how many .wast files of the testsuite (0 = all)
    smith: int  # how many smith modules
    mutate: int  # how many `wasm-tools mutate` outputs
    testsuite: Path = TESTSUITE


def _run(args: list, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=120)


def wast_files(spec: CorpusSpec) -> list[Path]:
    suite = spec.testsuite
    files = sorted(suite.glob("*.wast")) + sorted(suite.glob("proposals/*/*.wast"))
    if not files:
        raise SystemExit(f"no spec testsuite at {suite}")
    if spec.spec_files and spec.spec_files < len(files):
        files = sorted(random.Random(spec.seed).sample(files, spec.spec_files))
    return files


def _convert_wast(args: tuple) -> list[bytes]:
    """The binary modules of one .wast file (valid ones and the assert_invalid/malformed ones;
    text-format modules of assert_malformed are skipped: they are not binaries)."""
    path, out = args
    out.mkdir(parents=True, exist_ok=True)
    p = _run([wasm_tools_executable(), "json-from-wast", str(path), "--wasm-dir", str(out),
              "-o", str(out / "script.json")])
    if p.returncode != 0:
        return []
    return [f.read_bytes() for f in sorted(out.glob("*.wasm"))]


def _smith(seed_bytes: bytes) -> bytes | None:
    p = _run([wasm_tools_executable(), "smith", *SMITH_FLAGS], stdin=seed_bytes)
    return p.stdout if p.returncode == 0 else None


def _mutate(args: tuple) -> bytes | None:
    data, seed, src = args
    src.write_bytes(data)
    p = _run([wasm_tools_executable(), "mutate", str(src), "--seed", str(seed)])
    return p.stdout if p.returncode == 0 and p.stdout else None


def build_corpus(spec: CorpusSpec, threads: int) -> list[bytes]:
    """The seeds, in a deterministic order."""
    rng = random.Random(spec.seed)
    with tempfile.TemporaryDirectory(prefix="validator-fuzz-") as tmp_s, \
            ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        tmp = Path(tmp_s)
        files = wast_files(spec)
        jobs = [(f, tmp / f"w{i}") for i, f in enumerate(files)]
        seeds: list[bytes] = [m for mods in pool.map(_convert_wast, jobs) for m in mods]
        smith_inputs = [rng.randbytes(rng.randrange(64, 4096)) for _ in range(spec.smith)]
        seeds += [m for m in pool.map(_smith, smith_inputs) if m]
        # `wasm-tools mutate` wants a valid module; mutate the smith ones and the spec ones alike.
        bases = [seeds[rng.randrange(len(seeds))] for _ in range(spec.mutate)] if seeds else []
        mjobs = [(b, rng.randrange(1 << 32), tmp / f"m{i}.wasm") for i, b in enumerate(bases)]
        seeds += [m for m in pool.map(_mutate, mjobs) if m]
    return seeds
