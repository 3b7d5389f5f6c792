"""Smith config presets: which modules `wasm-tools smith` makes for a case.

Every preset starts from BASE_FLAGS (what keeps the two engines deterministic and
comparable, see harness.py) and adds its own flags; a case's seed then varies a few
options on top (`Preset.options`), so that a range of seeds covers small and large
bodies, with and without floats, trap guards and host imports.  A flag given later
wins, so a preset's flags override the seed's choice where both name one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FUEL_PER_CALL = 1000  # loop iterations and calls before a call traps (see harness.py)

BASE_FLAGS = (
    "--ensure-termination", "--fuel", str(FUEL_PER_CALL),
    # Every memory, table and global is exported: their state is what we compare.
    "--export-everything", "true",
    "--allow-start-export", "false",
    "--min-types", "2",
    "--min-funcs", "3",
    "--max-memories", "2",
    "--max-tables", "3",
    "--memory-max-size-required", "true",
    "--max-memory32-bytes", str(1 << 20),
    "--max-memory64-bytes", str(1 << 20),
    "--table-max-size-required", "true",
    "--max-table-elements", "1000",
    "--canonicalize-nans", "true",
    # SIMD only where a preset turns it on (simd, relaxed-simd): the other presets'
    # seeds keep making the modules they made before.
    "--simd-enabled", "false",
    "--relaxed-simd-enabled", "false",
    "--gc-enabled", "false",
    "--exceptions-enabled", "false",
    "--threads-enabled", "false",
    "--shared-everything-threads-enabled", "false",
    "--custom-descriptors-enabled", "false",
    "--compact-imports-enabled", "false",
    "--wide-arithmetic-enabled", "false",
    "--custom-page-sizes-enabled", "false",
    # On (their defaults, spelled out): the feature set under test.
    "--multi-value-enabled", "true",
    "--saturating-float-to-int-enabled", "true",
    "--sign-extension-ops-enabled", "true",
    "--bulk-memory-enabled", "true",
    "--reference-types-enabled", "true",
    "--tail-call-enabled", "true",
    "--extended-const-enabled", "true",
)

# Every instruction category except `aggregate` (struct/array: GC, which wasmaot
# refuses) and `vector`: with GC on, this leaves typed function references.
NO_AGGREGATES = "numeric,reference,parametric,variable,table,memory,control"

# The SIMD presets' instruction categories: vectors and what makes and stores them.
SIMD_INSTRUCTIONS = "vector,numeric,parametric,variable,memory,control"


FLAGS_WITHOUT_VALUE = ("--ensure-termination",)


def merge_flags(*lists) -> list[str]:
    """The flags of `lists` with each named once, a later value winning (smith
    refuses a flag given twice)."""
    merged: dict = {}
    for flags in lists:
        i = 0
        while i < len(flags):
            name = flags[i]
            merged.pop(name, None)  # re-inserted last: the order shows what won
            if name in FLAGS_WITHOUT_VALUE:
                merged[name] = None
                i += 1
            else:
                merged[name] = flags[i + 1]
                i += 2
    out = []
    for name, value in merged.items():
        out += [name] if value is None else [name, value]
    return out


@dataclass(frozen=True)
class Preset:
    name: str
    doc: str
    flags: tuple = ()
    imports: str = "some"  # "some": half of the seeds import from the host; "none"
    # The module's tables are not exported (harness.unexport_tables): a table no other
    # module or host can reach, and that no instruction changes, is sealed
    # (codegen/sealed.py); its state is then compared through calls only.
    private_tables: bool = False

    def may_import(self, seed: int) -> bool:
        """Whether smith may make host imports for this seed (half the seeds)."""
        rng = random.Random(f"options-{self.name}-{seed}")
        return self.imports == "some" and rng.random() < 0.5

    def smith_flags(self, seed: int, host_imports: str) -> list[str]:
        """All of smith's flags for `seed`: BASE_FLAGS, the per-seed variation
        (deterministic in the preset and the seed), the preset's flags."""
        rng = random.Random(f"options-{self.name}-{seed}")
        rng.random()  # drawn by may_import
        imports = (["--available-imports", host_imports, "--max-imports", "10"]
                   if self.may_import(seed) else ["--max-imports", "0"])
        return merge_flags(BASE_FLAGS, [
            *imports,
            "--max-instructions", str(rng.choice((30, 100, 100, 300, 1000))),
            "--memory64-enabled", rng.choice(("true", "false")),
            "--allow-floats", rng.choice(("true", "true", "false")),
            # Guarded loads, divisions and conversions: more calls run to their end.
            "--disallow-traps", rng.choice(("true", "false", "false")),
            # Without return_call* a module's funcref records are fastcc in an
            # executable (codegen/module.py _record_conv), which the -exe variants
            # fuzz; `tail-calls` turns them on for every seed.
            "--tail-call-enabled", rng.choice(("true", "false")),
            *self.flags,
        ])


PRESETS = {p.name: p for p in (
    Preset("base", "the 1,000-seed mix of tests/differential before the farm: MVP, bulk "
           "memory, reference types, tail calls, memory64 on half the seeds, <= 2 memories, "
           "<= 3 tables"),
    Preset("mem64-multi", "memory64 with 2-4 memories, out-of-bounds offsets favoured "
           "(memarg offsets near 2^32 and 2^64), traps not guarded",
           ("--memory64-enabled", "true", "--min-memories", "2", "--max-memories", "4",
            "--memory-offset-choices", "2,3,5", "--disallow-traps", "false",
            "--min-data-segments", "1")),
    Preset("tail-calls", "many small functions calling each other (return_call, "
           "return_call_indirect), tables of funcrefs",
           ("--tail-call-enabled", "true", "--min-funcs", "10", "--max-funcs", "40",
            "--min-tables", "1", "--min-element-segments", "1", "--max-instructions", "200")),
    Preset("func-refs", "typed function references (call_ref, return_call_ref, "
           "ref.as_non_null, br_on_null/non_null, typed tables), no struct/array",
           ("--gc-enabled", "true", "--allowed-instructions", NO_AGGREGATES,
            "--min-funcs", "6", "--tail-call-enabled", "true")),
    Preset("bulk-memory", "memory.init/copy/fill, data.drop, passive and active data and "
           "element segments, table.init/copy",
           ("--min-data-segments", "2", "--max-data-segments", "12", "--min-element-segments",
            "2", "--max-element-segments", "12", "--min-memories", "1", "--min-tables", "1",
            "--memory-offset-choices", "5,3,2")),
    Preset("many-tables", "8-40 tables (funcref, externref, table64), table.get/set/grow/"
           "fill/size, call_indirect across tables",
           ("--min-tables", "8", "--max-tables", "40", "--max-table-elements", "200",
            "--min-element-segments", "2", "--max-element-segments", "20")),
    Preset("traps", "--disallow-traps off, floats on, out-of-bounds offsets and "
           "conversions: every kind of trap",
           ("--disallow-traps", "false", "--allow-floats", "true",
            "--memory-offset-choices", "3,3,4")),
    Preset("big", "larger modules: up to 60 functions of up to 3000 instructions, deep "
           "nesting, many locals and globals",
           ("--max-funcs", "60", "--max-instructions", "3000", "--max-nesting-depth", "30",
            "--min-globals", "4", "--max-globals", "60")),
    # SIMD (issue 9).  No reference or table instructions: the bodies stay about
    # vectors, memory and the numeric code feeding them.  Floats always on (f32x4 and
    # f64x2 arithmetic, conversions, NaN lanes); smith canonicalizes vector NaNs too.
    Preset("simd", "128-bit SIMD: every vector instruction, v128 params, results, locals and "
           "globals, v128 loads/stores, lane loads/stores, shuffles, float lanes",
           ("--simd-enabled", "true", "--relaxed-simd-enabled", "false",
            "--allow-floats", "true", "--allowed-instructions", SIMD_INSTRUCTIONS)),
    Preset("relaxed-simd", "SIMD and relaxed SIMD: a relaxed result is compared with the set "
           "the spec allows (harness.py, `relaxed_allowed`)",
           ("--simd-enabled", "true", "--relaxed-simd-enabled", "true",
            "--allow-floats", "true", "--allowed-instructions", SIMD_INSTRUCTIONS)),
    # Exception handling (issue 10): tags, throw, throw_ref, try_table with every catch
    # kind, exnref values.  Traps stay on where the seed has them (an escaping exception
    # must stay apart from a trap).  smith emits a throw only where its tag's payload
    # types are on the stack, so in the full instruction mix a throw is rare (about 2 per
    # module against 25 try_tables); `exceptions-control` leaves only control, local and
    # parametric instructions: four times the throws, most caught by a try_table.
    Preset("exceptions", "exception handling in the full instruction mix: tags, throw, "
           "throw_ref, try_table with catch/catch_ref/catch_all/catch_all_ref, exnref "
           "locals, params, results, globals and tables",
           ("--exceptions-enabled", "true", "--min-tags", "1", "--max-tags", "6",
            "--min-funcs", "4", "--max-funcs", "20")),
    Preset("exceptions-control", "exception handling among control, local and parametric "
           "instructions only: dense throw/try_table nesting, calls and tail calls "
           "crossing handlers",
           ("--exceptions-enabled", "true", "--min-tags", "1", "--max-tags", "6",
            "--min-funcs", "4", "--max-funcs", "20",
            "--allowed-instructions", "control,variable,parametric")),
    Preset("exceptions-mix", "exception handling with tail calls (return_call out of a "
           "try_table), reference types, tables, bulk memory, floats and SIMD",
           ("--exceptions-enabled", "true", "--min-tags", "1", "--max-tags", "6",
            "--tail-call-enabled", "true", "--simd-enabled", "true", "--allow-floats", "true",
            "--min-funcs", "6", "--max-funcs", "30", "--min-tables", "1")),
    # Sealed tables (codegen/sealed.py): funcref tables only active segments set, as a
    # C compiler makes them.  Numeric, local and control instructions only (no table
    # instruction unseals the table, and call_indirect is about half as rare as with
    # memory and reference instructions too), the tables not exported.
    Preset("sealed-tables", "funcref tables that only active element segments set, not "
           "exported: call_indirect at any index through constant dispatch arrays (and "
           "imported functions or global offsets, which keep the run-time checks)",
           ("--allowed-instructions", "numeric,parametric,variable,control",
            "--min-tables", "1", "--min-element-segments", "1", "--max-element-segments", "8",
            "--min-funcs", "6", "--max-funcs", "30"),
           private_tables=True),
    Preset("no-imports", "modules without host imports (the aarch64 share uses these: a test "
           "executable has no Python host)", imports="none"),
)}

# The presets a farm run cycles through unless --configs says otherwise.
SIMD_CONFIGS = ("simd", "relaxed-simd")
EXCEPTION_CONFIGS = ("exceptions", "exceptions-control", "exceptions-mix")
DEFAULT_CONFIGS = ("base", "mem64-multi", "tail-calls", "func-refs", "bulk-memory",
                   "many-tables", "traps", "big", *SIMD_CONFIGS, *EXCEPTION_CONFIGS,
                   "sealed-tables")
