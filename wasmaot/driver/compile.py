"""From module bytes to object code: frontend, lowering, LLVM.

Large modules are split into partitions (codegen/partition.py) that worker
processes lower and compile in parallel (LLVM's optimizer and code generator
are single-threaded, and most of the time goes there).  The partitions are
fixed by the module alone, never by the number of workers, so the objects are
the same on any machine; the largest are handed out first, so that workers
finish together.  Each stage's time is recorded for `bench/compile.py`.
"""

from __future__ import annotations

import gc
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from ..codegen.image import Image, build_image
from ..codegen.module import REFUSALS, CodegenOptions, lower_partition
from ..codegen.partition import function_weight, partition_functions, split_tiers
from ..wasm import decode_module, validate_module
from ..wasm.module import Module
from ..wasm.validate_module import ModuleContext
from . import llvm, rawobject, reuse
from .targets import code_target

# The average weight of a partition (code bytes plus FUNCTION_WEIGHT per function);
# modules below twice this compile in one piece.
PARTITION_BYTES = 256 * 1024


@dataclass
class CompileStats:
    frontend: float = 0.0
    emit: float = 0.0
    llvm: float = 0.0  # parse + optimize + codegen (wall time, all partitions)
    code_bytes: int = 0
    partitions: int = 1
    objects_reused: int = 0  # of the partitions' objects, those found in the cache
    # LLVM's steps (driver/llvm.py compile_ir), "optimize" / "codegen": seconds
    # summed over the partitions (so more than `llvm` when they ran in parallel).
    per_stage: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CompileRequest:
    target: str = "x86_64-linux"
    opt_level: int = 2
    explicit_bounds_checks: bool = False
    native_imports: tuple = ()  # imports bound to C functions, see CodegenOptions
    cpu: str = "default"  # a --cpu level (driver/cpu.py)
    output: str = "obj"  # "obj", or "asm" / "llvm-ir" (text, for --emit)
    descriptor_symbol: str = "wasmaot_module"
    interruptible: bool = False  # loop-header interrupt checks (--timeout)
    deterministic: bool = False  # --deterministic, see CodegenOptions
    standalone: bool = False  # an executable's only module, see CodegenOptions
    # Objects of a large module's partitions are reused from and saved to the
    # cache when their IR is one compiled before (driver/reuse.py).
    reuse_objects: bool = False

    @property
    def codegen(self) -> CodegenOptions:
        target = code_target(self.target)
        cpu = llvm.cpu_choice(target, self.cpu)  # relaxed SIMD's native choices follow it
        return CodegenOptions(self.opt_level, self.explicit_bounds_checks, self.native_imports,
                              self.descriptor_symbol, self.interruptible,
                              probe_straddling_stores=target.arch == "aarch64",
                              deterministic=self.deterministic, arch=cpu.arch,
                              cpu_features=cpu.features, tune_cpu=cpu.llvm_tune,
                              standalone=self.standalone)


@contextmanager
def _no_cycle_collection():
    """Decoding allocates one object or more per item (100,000 data segments or globals)
    that all live until the build ends, and no garbage cycles: the cyclic collector would
    only traverse the growing heap again and again (over half of decoding time).  The
    collector's state is restored on the way out."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def frontend(data: bytes) -> tuple[Module, ModuleContext]:
    """Decode and validate a module that is about to be compiled.  A valid module that uses
    an instruction the lowering cannot handle yet (SIMD, GC, exceptions, threads) is refused
    here with UnsupportedFeature naming the first use, before any code generation."""
    with _no_cycle_collection():
        module = decode_module(data)
        return module, validate_module(module, REFUSALS)


def code_size(module: Module) -> int:
    return sum(s.size for s in module.sections if s.id == 10)


def _compile_partition(module: Module, ctx: ModuleContext, req: CompileRequest,
                       funcs: list, first: bool, external_image: bool,
                       image: Image | None = None, tiers: bool = False) -> tuple:
    """(objects, emit seconds, LLVM seconds, LLVM's steps, objects reused) of one
    partition: one object, or with `tiers` one per tier (codegen/partition.py)
    that has something in it.  The first partition's full tier carries the
    descriptor."""
    groups = [(funcs, llvm.FULL)]
    if tiers:
        full, tiny = split_tiers(module, ctx, funcs)
        groups = [(full, llvm.FULL), (tiny, llvm.TINY)]
    target = llvm.with_cpu(code_target(req.target), req.cpu)
    options = replace(req.codegen, external_image=external_image)
    objs, emit_s, llvm_s, steps, reused = [], 0.0, 0.0, {}, 0
    remember = req.reuse_objects and req.output == "obj" and \
        code_size(module) >= reuse.REMEMBER_CODE_BYTES
    for part, tier in groups:
        with_descriptor = first and tier == llvm.FULL
        if not part and not with_descriptor:
            continue
        t0 = time.perf_counter()
        ir = lower_partition(module, ctx, options, part, with_descriptor, image)
        t1 = time.perf_counter()
        obj, found = _object(ir, target, req, tier, steps, remember)
        objs.append(obj)
        reused += found
        emit_s += t1 - t0
        llvm_s += time.perf_counter() - t1
    return objs, emit_s, llvm_s, steps, reused


def _object(ir: str, target, req: CompileRequest, tier: str, steps: dict,
            remember: bool) -> tuple[bytes, bool]:
    """LLVM's output for `ir`, and whether it came from the cache (only looked in,
    and saved to, if `remember`)."""
    key = reuse.object_key(ir, llvm.machine(target), req.opt_level, tier) if remember else None
    obj = reuse.load(reuse.OBJECTS, key) if key else None
    if obj is not None:
        return obj, True
    obj = llvm.compile_ir(ir, target, req.opt_level, output=req.output, timings=steps, tier=tier)
    if key:
        reuse.save(reuse.OBJECTS, key, obj)
    return obj, False


# In a worker process only: the parent's decoded module and context, which the
# pool's initializer hands over when the worker is forked (no pickling, no
# decoding again: 16 workers each decoding 100,000 functions cost 3 CPU-s).
_adopted: tuple | None = None


def _adopt(module: Module, ctx: ModuleContext) -> None:
    global _adopted
    _adopted = (module, ctx)


def _worker(req: CompileRequest, funcs: list, first: bool) -> tuple:
    module, ctx = _adopted
    tiers = req.opt_level > 0 and req.output == "obj"
    return _compile_partition(module, ctx, req, funcs, first, True, tiers=tiers)


def _weight(module: Module, ctx: ModuleContext, part: list[int]) -> int:
    first = module.num_imported_funcs
    return sum(function_weight(module, ctx, f - first) for f in part)


def _gather(futures: dict, parts: list, weights: list[int], progress) -> list:
    """The partitions' results in partition order, reporting each as it
    finishes (the share of the weight done is the share of the work).  If some
    fail, the first partition's error is raised, whichever failed first: the
    same error on every run."""
    from concurrent.futures import as_completed

    results: list = [None] * len(parts)
    errors: dict[int, BaseException] = {}
    total = sum(len(p) for p in parts)
    done = weight_done = 0
    for future in as_completed(futures):
        i = futures[future]
        try:
            results[i] = future.result()
        except Exception as e:  # noqa: BLE001 - re-raised below, in partition order
            errors[i] = e
            continue
        done += len(parts[i])
        weight_done += weights[i]
        if progress is not None:
            progress(done, total, weight_done / sum(weights))
    if errors:
        raise errors[min(errors)]
    return results


def _image_object(image: Image, req: CompileRequest) -> list[bytes]:
    """The module image as an object of its own (none if it is empty)."""
    if image.size == 0:
        return []
    arch = code_target(req.target).triple.split("-")[0]
    return [rawobject.data_object(f"{req.descriptor_symbol}_image", image.parts, arch)]


def compile_module(data: bytes, req: CompileRequest, *, jobs: int | None = None,
                   module: Module | None = None, ctx: ModuleContext | None = None,
                   split: bool = True, progress=None) -> tuple[list[bytes], CompileStats]:
    """Validate and compile; returns the object files (in link order) and timings.
    With `split`, there may be several: the partitions, then the module image
    (codegen/image.py) as raw bytes; without, one object holds everything.
    `progress(done, total, fraction)`, if given, hears of the functions compiled
    and the share of the work done as partitions finish."""
    stats = CompileStats()
    t0 = time.perf_counter()
    if module is None:
        module, ctx = frontend(data)
    stats.frontend = time.perf_counter() - t0
    stats.code_bytes = code_size(module)
    parts = partition_functions(module, ctx, PARTITION_BYTES) if split else \
        [list(range(module.num_imported_funcs, len(ctx.funcs)))]
    stats.partitions = len(parts)
    t1 = time.perf_counter()
    with _no_cycle_collection():
        image = build_image(module, ctx)
    if len(parts) == 1:
        funcs = parts[0]
        objs, emit_s, _, stats.per_stage, stats.objects_reused = _compile_partition(
            module, ctx, req, funcs, True, split, image)
        stats.emit = emit_s
        stats.llvm = time.perf_counter() - t1 - emit_s
        return objs + (_image_object(image, req) if split else []), stats
    # Imported here: multiprocessing costs 6-15 ms of start-up that one-piece builds skip.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    workers = jobs or os.cpu_count() or 1
    # fork: a spawned worker would re-run the caller's __main__ (scripts without a
    # main guard), and the parent holds no threads or locks the workers need.
    weights = [_weight(module, ctx, part) for part in parts]
    with ProcessPoolExecutor(max_workers=min(workers, len(parts)),
                             mp_context=get_context("fork"),
                             initializer=_adopt, initargs=(module, ctx)) as pool:
        futures = {pool.submit(_worker, req, parts[i], i == 0): i
                   for i in sorted(range(len(parts)), key=lambda i: -weights[i])}
        results = _gather(futures, parts, weights, progress)
    wall = time.perf_counter() - t1
    emit_total = sum(r[1] for r in results)
    llvm_total = sum(r[2] for r in results)
    # Split the wall time between the stages in proportion to their CPU time.
    stats.emit = wall * emit_total / (emit_total + llvm_total)
    stats.llvm = wall - stats.emit
    stats.objects_reused = sum(r[4] for r in results)
    for r in results:
        for stage, seconds in r[3].items():
            stats.per_stage[stage] = stats.per_stage.get(stage, 0.0) + seconds
    return [obj for r in results for obj in r[0]] + _image_object(image, req), stats
