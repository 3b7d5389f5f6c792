"""CPU levels: what `--cpu` names, defined once.

A level fixes the CPU LLVM generates code for (its name and feature string)
and the hardware features an executable checks when it starts, so that one
built for a newer CPU refuses to run on an older one with one clear line
instead of dying of SIGILL in the middle of the program.

    baseline      every CPU of the architecture: x86-64 with SSE2 (LLVM's
                  "x86-64"), or ARMv8.0-A with NEON (LLVM's "generic")
    x86-64-v2     the x86-64 psABI levels (LLVM's CPUs of the same names):
    x86-64-v3       v2 = SSE4.2, POPCNT, CMPXCHG16B (2009 on); v3 = AVX2, BMI2,
    x86-64-v4       FMA, MOVBE (2013/2015 on); v4 = AVX-512 F/BW/CD/DQ/VL
    aarch64-v8.2  ARMv8.2-A's extensions that Cortex-A55/A76, Neoverse N1
                  (Graviton 2) and later have: LSE atomics, RDM, CRC32, FP16,
                  dot product, RCpc
    native        this machine's CPU (LLVM's name and features for it); the
                  executable checks every feature of FEATURES this CPU has

The runtime's check (runtime_c/cpu.c) reads the rows of FEATURES, rendered
into the build-config header by `c_macros()`: on x86-64 a CPUID bit (plus the
XCR0 bits the OS must enable for AVX and AVX-512 state), on aarch64 a bit of
getauxval(AT_HWCAP / AT_HWCAP2).  An executable's required features are a
mask over the rows of its architecture (`CpuChoice.mask`).

`native` builds take every feature LLVM reports for the host; FEATURES covers
those LLVM selects from plain IR (vector widths, bit manipulation, fused
multiply-add, dot products, popcounts, GFNI), plus the crypto ones.  Host
features outside it are system instructions (XSAVE, RDRAND, FSGSBASE...) that
LLVM emits only for intrinsics wasmaot never generates.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ToolchainError

# x86-64 CPUID words: (leaf, subleaf, register index: 0 eax, 1 ebx, 2 ecx, 3 edx).
LEAF1_ECX = (1, 0, 2)
LEAF7_EBX = (7, 0, 1)
LEAF7_ECX = (7, 0, 2)
LEAF7_1_EAX = (7, 1, 0)
EXT1_ECX = (0x80000001, 0, 2)
# XCR0 bits the OS sets when it saves the state: SSE|AVX, and AVX-512's three.
XCR0_AVX = 0x6
XCR0_AVX512 = 0xE6
# aarch64 auxiliary vector words.
HWCAP, HWCAP2 = 16, 26  # AT_HWCAP, AT_HWCAP2


@dataclass(frozen=True)
class Feature:
    name: str  # what the refusal line says
    llvm: str  # LLVM's feature name
    cpuinfo: str  # the flag Linux shows in /proc/cpuinfo (x86-64; tests compare)
    word: tuple  # x86-64: a CPUID word above; aarch64: (HWCAP or HWCAP2,)
    bit: int
    xcr0: int = 0  # x86-64: XCR0 bits that must be set too


def _x86(name, llvm, cpuinfo, word, bit, xcr0=0) -> Feature:
    return Feature(name, llvm, cpuinfo, word, bit, xcr0)


def _arm(name, llvm, cpuinfo, word, bit) -> Feature:
    return Feature(name, llvm, cpuinfo, (word,), bit)


# Row i of an architecture's tuple is bit i of an executable's required mask.
FEATURES: dict[str, tuple[Feature, ...]] = {
    "x86_64": (
        _x86("SSE3", "sse3", "pni", LEAF1_ECX, 0),
        _x86("SSSE3", "ssse3", "ssse3", LEAF1_ECX, 9),
        _x86("SSE4.1", "sse4.1", "sse4_1", LEAF1_ECX, 19),
        _x86("SSE4.2", "sse4.2", "sse4_2", LEAF1_ECX, 20),
        _x86("POPCNT", "popcnt", "popcnt", LEAF1_ECX, 23),
        _x86("CMPXCHG16B", "cx16", "cx16", LEAF1_ECX, 13),
        _x86("LAHF-SAHF", "sahf", "lahf_lm", EXT1_ECX, 0),
        _x86("AVX", "avx", "avx", LEAF1_ECX, 28, XCR0_AVX),
        _x86("AVX2", "avx2", "avx2", LEAF7_EBX, 5, XCR0_AVX),
        _x86("BMI1", "bmi", "bmi1", LEAF7_EBX, 3),
        _x86("BMI2", "bmi2", "bmi2", LEAF7_EBX, 8),
        _x86("F16C", "f16c", "f16c", LEAF1_ECX, 29, XCR0_AVX),
        _x86("FMA", "fma", "fma", LEAF1_ECX, 12, XCR0_AVX),
        _x86("LZCNT", "lzcnt", "abm", EXT1_ECX, 5),
        _x86("MOVBE", "movbe", "movbe", LEAF1_ECX, 22),
        _x86("AVX512F", "avx512f", "avx512f", LEAF7_EBX, 16, XCR0_AVX512),
        _x86("AVX512BW", "avx512bw", "avx512bw", LEAF7_EBX, 30, XCR0_AVX512),
        _x86("AVX512CD", "avx512cd", "avx512cd", LEAF7_EBX, 28, XCR0_AVX512),
        _x86("AVX512DQ", "avx512dq", "avx512dq", LEAF7_EBX, 17, XCR0_AVX512),
        _x86("AVX512VL", "avx512vl", "avx512vl", LEAF7_EBX, 31, XCR0_AVX512),
        _x86("AVX512IFMA", "avx512ifma", "avx512ifma", LEAF7_EBX, 21, XCR0_AVX512),
        _x86("AVX512VBMI", "avx512vbmi", "avx512vbmi", LEAF7_ECX, 1, XCR0_AVX512),
        _x86("AVX512VBMI2", "avx512vbmi2", "avx512_vbmi2", LEAF7_ECX, 6, XCR0_AVX512),
        _x86("AVX512VNNI", "avx512vnni", "avx512_vnni", LEAF7_ECX, 11, XCR0_AVX512),
        _x86("AVX512BITALG", "avx512bitalg", "avx512_bitalg", LEAF7_ECX, 12, XCR0_AVX512),
        _x86("AVX512VPOPCNTDQ", "avx512vpopcntdq", "avx512_vpopcntdq", LEAF7_ECX, 14,
             XCR0_AVX512),
        _x86("AVX512BF16", "avx512bf16", "avx512_bf16", LEAF7_1_EAX, 5, XCR0_AVX512),
        _x86("AVXVNNI", "avxvnni", "avx_vnni", LEAF7_1_EAX, 4, XCR0_AVX),
        _x86("GFNI", "gfni", "gfni", LEAF7_ECX, 8),
        _x86("ADX", "adx", "adx", LEAF7_EBX, 19),
        _x86("AES", "aes", "aes", LEAF1_ECX, 25),
        _x86("PCLMULQDQ", "pclmul", "pclmulqdq", LEAF1_ECX, 1),
        _x86("VAES", "vaes", "vaes", LEAF7_ECX, 9, XCR0_AVX),
        _x86("VPCLMULQDQ", "vpclmulqdq", "vpclmulqdq", LEAF7_ECX, 10, XCR0_AVX),
        _x86("SHA", "sha", "sha_ni", LEAF7_EBX, 29),
        _x86("SSE4A", "sse4a", "sse4a", EXT1_ECX, 6),
        _x86("PREFETCHW", "prfchw", "3dnowprefetch", EXT1_ECX, 8),
    ),
    # Bits of Linux's arch/arm64/include/uapi/asm/hwcap.h.
    "aarch64": (
        _arm("CRC32", "crc", "crc32", HWCAP, 7),
        _arm("ATOMICS", "lse", "atomics", HWCAP, 8),
        _arm("FPHP", "fullfp16", "fphp", HWCAP, 9),
        _arm("ASIMDHP", "fullfp16", "asimdhp", HWCAP, 10),
        _arm("ASIMDRDM", "rdm", "asimdrdm", HWCAP, 12),
        _arm("JSCVT", "jsconv", "jscvt", HWCAP, 13),
        _arm("FCMA", "complxnum", "fcma", HWCAP, 14),
        _arm("LRCPC", "rcpc", "lrcpc", HWCAP, 15),
        _arm("ASIMDDP", "dotprod", "asimddp", HWCAP, 20),
        _arm("ASIMDFHM", "fp16fml", "asimdfhm", HWCAP, 23),
        _arm("AES", "aes", "aes", HWCAP, 3),
        _arm("PMULL", "aes", "pmull", HWCAP, 4),
        _arm("SHA2", "sha2", "sha2", HWCAP, 6),
        _arm("SHA3", "sha3", "sha3", HWCAP, 17),
        _arm("SVE", "sve", "sve", HWCAP, 22),
        _arm("SVE2", "sve2", "sve2", HWCAP2, 1),
        _arm("I8MM", "i8mm", "i8mm", HWCAP2, 13),
        _arm("BF16", "bf16", "bf16", HWCAP2, 14),
    ),
}


@dataclass(frozen=True)
class CpuLevel:
    name: str  # what --cpu names
    arch: str  # "x86_64" or "aarch64"
    llvm_cpu: str
    llvm_features: str  # "+a,+b": exactly what `requires` checks, beyond llvm_cpu's own
    requires: tuple[str, ...]  # Feature names the executable checks at start
    summary: str
    # The CPU LLVM tunes for (instruction choice and scheduling, never features):
    # "" is llvm_cpu itself.  See X86_TUNE.
    llvm_tune: str = ""


# LLVM's x86-64-v2/v3/v4 CPUs tune for Sandy Bridge, Haswell and Skylake-AVX512:
# with them a rotate by a constant becomes `shld $k, %r, %r` (fast on those Intel
# cores), which on AMD Zen is several micro-ops and a longer dependency chain than
# `rol` (xxHash's XXH32: 21% slower on an EPYC).  An executable runs on any CPU of
# its level, so tune for all of them alike, as clang does unless told -mtune:
# "generic", LLVM's blend of current Intel and AMD cores.
X86_TUNE = "generic"

_V2 = ("SSE3", "SSSE3", "SSE4.1", "SSE4.2", "POPCNT", "CMPXCHG16B", "LAHF-SAHF")
_V3 = _V2 + ("AVX", "AVX2", "BMI1", "BMI2", "F16C", "FMA", "LZCNT", "MOVBE")
_V4 = _V3 + ("AVX512F", "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512VL")

LEVELS: tuple[CpuLevel, ...] = (
    CpuLevel("baseline", "x86_64", "x86-64", "", (), "any x86-64 CPU (SSE2)",
             X86_TUNE),
    CpuLevel("x86-64-v2", "x86_64", "x86-64-v2", "", _V2, "SSE4.2, POPCNT (2009 on)",
             X86_TUNE),
    CpuLevel("x86-64-v3", "x86_64", "x86-64-v3", "", _V3, "AVX2, BMI2, FMA (2015 on)",
             X86_TUNE),
    CpuLevel("x86-64-v4", "x86_64", "x86-64-v4", "", _V4, "AVX-512 F/BW/CD/DQ/VL",
             X86_TUNE),
    CpuLevel("baseline", "aarch64", "generic", "", (), "any ARMv8.0-A CPU (NEON)"),
    CpuLevel("aarch64-v8.2", "aarch64", "generic", "+lse,+rdm,+crc,+fullfp16,+dotprod,+rcpc",
             ("CRC32", "ATOMICS", "FPHP", "ASIMDHP", "ASIMDRDM", "ASIMDDP", "LRCPC"),
             "ARMv8.2-A extensions: LSE, RDM, FP16, dot product, RCpc (Cortex-A55/A76, "
             "Neoverse N1 on)"),
)
NATIVE = "native"
# What an unnamed --cpu means, per architecture.  On x86-64 it is x86-64-v2
# (SSE4.2, every x86-64 CPU since 2009), not baseline: from v2 on, wasm's
# ceil/floor/trunc/nearest are one instruction (SSE4.1 round*) instead of a
# call, and i8x16.swizzle one pshufb (SSSE3) instead of ~90 instructions;
# SSE2-only CPUs are rare enough to ask for `--cpu baseline` by name.
DEFAULT = "default"
DEFAULT_LEVEL = {"x86_64": "x86-64-v2", "aarch64": "baseline"}


def level_names(arch: str | None = None) -> list[str]:
    """Every name --cpu accepts (for `arch`'s levels only, if given), in order."""
    names = [lv.name for lv in LEVELS if arch is None or lv.arch == arch]
    return [DEFAULT] + list(dict.fromkeys(names)) + [NATIVE]


@dataclass(frozen=True)
class CpuChoice:
    """A level resolved for one architecture: what LLVM gets and what the
    executable checks."""

    level: str  # the --cpu name
    arch: str
    llvm_cpu: str
    llvm_features: str
    requires: tuple[str, ...]  # Feature names, in FEATURES order
    llvm_tune: str = ""  # CpuLevel.llvm_tune; native: "" (this CPU itself)

    @property
    def features(self) -> frozenset[str]:
        """LLVM's names of the required features (FEATURES rows): what the code
        generator may use beyond the architecture's baseline (CodegenOptions)."""
        return frozenset(f.llvm for f in FEATURES[self.arch] if f.name in self.requires)

    @property
    def mask(self) -> int:
        """Bit i set: row i of FEATURES[arch] is required."""
        rows = [f.name for f in FEATURES[self.arch]]
        return sum(1 << i for i, f in enumerate(rows) if f in self.requires)

    def manifest(self) -> dict:
        out = {"level": self.level, "llvm_cpu": self.llvm_cpu, "requires": list(self.requires)}
        if self.level != NATIVE and self.llvm_features:  # native's: every feature LLVM knows
            out["llvm_features"] = self.llvm_features
        return out

    def described(self) -> str:
        """How the refusal line names the level ("this program needs ...")."""
        if self.level == NATIVE:
            return f"a CPU like the build machine's ({self.llvm_cpu}, --cpu native)"
        return f"an {self.level} CPU"  # every level starts with a vowel sound (x, a)


def _in_order(arch: str, names) -> tuple[str, ...]:
    wanted = set(names)
    return tuple(f.name for f in FEATURES[arch] if f.name in wanted)


def resolve(arch: str, cpu: str, *, target_name: str | None = None,
            host_arch: str | None = None, host: tuple[str, dict] | None = None) -> CpuChoice:
    """The level `cpu` for `arch`; ToolchainError naming the levels there are
    if it is unknown, of another architecture, or `native` for a foreign
    target.  `host`: (LLVM's host CPU name, its feature dict), for `native`."""
    where = target_name or f"{arch}-linux"
    if cpu == DEFAULT:
        cpu = DEFAULT_LEVEL[arch]
    if cpu == NATIVE:
        if host_arch != arch or host is None:
            raise ToolchainError(f"--cpu native is this machine's CPU, which is not {where}; "
                                 f"name a level of {where}: "
                                 f"{', '.join(level_names(arch)[:-1])}")
        name, features = host
        flat = ",".join(f"{'+' if on else '-'}{k}" for k, on in sorted(features.items()))
        return CpuChoice(NATIVE, arch, name, flat,
                         _in_order(arch, (f.name for f in FEATURES[arch] if features.get(f.llvm))))
    for lv in LEVELS:
        if lv.name == cpu and lv.arch == arch:
            return CpuChoice(lv.name, arch, lv.llvm_cpu, lv.llvm_features,
                             _in_order(arch, lv.requires), lv.llvm_tune)
    if cpu in level_names():
        raise ToolchainError(f"--cpu {cpu} is not a level of {where} (its levels: "
                             f"{', '.join(level_names(arch))})")
    raise ToolchainError(f"unknown --cpu {cpu!r} (levels of {where}: "
                         f"{', '.join(level_names(arch))})")


def c_macros() -> list[str]:
    """The C side of FEATURES: one X-macro per architecture, whose rows are
    (NAME, LEAF, SUBLEAF, REGISTER, BIT, XCR0) on x86-64 and (NAME, AT_WORD,
    BIT) on aarch64, in row order (row i is bit i of a required mask)."""
    out = ["/* CPU features (wasmaot/driver/cpu.py FEATURES): row i is bit i of cpu_features. */"]
    for arch, macro in (("x86_64", "WASMAOT_CPU_FEATURES_X86_64"),
                        ("aarch64", "WASMAOT_CPU_FEATURES_AARCH64")):
        rows = []
        for f in FEATURES[arch]:
            if arch == "x86_64":
                leaf, sub, reg = f.word
                rows.append(f'  X("{f.name}", {leaf:#x}u, {sub}u, {reg}, {f.bit}, {f.xcr0:#x}u)')
            else:
                rows.append(f'  X("{f.name}", {f.word[0]}, {f.bit})')
        out.append(f"#define {macro}(X) \\")
        out.append(" \\\n".join(rows))
        out.append(f"#define {macro}_COUNT {len(FEATURES[arch])}")
    return out


def _check_tables() -> None:
    # A mask is a uint64_t, and every level names rows that exist.
    for arch, rows in FEATURES.items():
        assert len(rows) < 64, arch  # and a shift by the count is defined in C
        assert len({f.name for f in rows}) == len(rows), arch
    for lv in LEVELS:
        known = {f.name for f in FEATURES[lv.arch]}
        assert set(lv.requires) <= known, (lv.name, set(lv.requires) - known)


_check_tables()
