/* CPU features: does this CPU have what an executable was built for?
 *
 * An executable built with `--cpu x86-64-v3` (or another level above the
 * architecture's baseline) holds instructions an older CPU lacks; running
 * them would end in SIGILL somewhere in the middle of the program.  main()
 * asks here first, before any generated code runs, and refuses with one line
 * (this file and main.c are compiled for the baseline CPU).
 *
 * The rows come from wasmaot/driver/cpu.py (WASMAOT_CPU_FEATURES_* in the
 * generated build-config header): on x86-64 a CPUID bit, plus the XCR0 bits
 * the OS must enable (a CPU with AVX under an OS that does not save the YMM
 * registers cannot run AVX code); on aarch64 a bit of the kernel's
 * AT_HWCAP / AT_HWCAP2 words, which say what the kernel lets user code use.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wasmaot_build_config.h"

#if defined(__x86_64__)
#include <cpuid.h>

_Static_assert(WASMAOT_CPU_FEATURES_X86_64_COUNT < 64, "a required mask is a uint64_t");

/* Register `reg` (0 eax .. 3 edx) of CPUID(leaf, subleaf); 0 if the CPU has no such leaf. */
static uint32_t cpuid_word(uint32_t leaf, uint32_t subleaf, int reg) {
  uint32_t r[4] = {0, 0, 0, 0};
  if (__get_cpuid_max(leaf & 0x80000000u, NULL) < leaf) return 0;
  __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
  return r[reg];
}

/* XCR0: the register state the OS saves; 0 unless CPUID says XGETBV may be used (OSXSAVE). */
static uint64_t xcr0(void) {
  if (((cpuid_word(1, 0, 2) >> 27) & 1) == 0) return 0;
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static uint64_t present(void) {
  uint64_t have = 0, os = xcr0();
  unsigned row = 0;
#define X(name, leaf, subleaf, reg, bit, need_xcr0)                                    \
  if (((cpuid_word(leaf, subleaf, reg) >> (bit)) & 1) && (os & (need_xcr0)) == (need_xcr0)) \
    have |= 1ull << row;                                                             \
  row++;
  WASMAOT_CPU_FEATURES_X86_64(X)
#undef X
  return have;
}

static const char *const feature_names[] = {
#define X(name, leaf, subleaf, reg, bit, need_xcr0) name,
    WASMAOT_CPU_FEATURES_X86_64(X)
#undef X
};

#elif defined(__aarch64__)
#include <sys/auxv.h>

_Static_assert(WASMAOT_CPU_FEATURES_AARCH64_COUNT < 64, "a required mask is a uint64_t");

static uint64_t present(void) {
  uint64_t have = 0;
  unsigned row = 0;
#define X(name, at_word, bit)                               \
  if ((getauxval(at_word) >> (bit)) & 1) have |= 1ull << row; \
  row++;
  WASMAOT_CPU_FEATURES_AARCH64(X)
#undef X
  return have;
}

static const char *const feature_names[] = {
#define X(name, at_word, bit) name,
    WASMAOT_CPU_FEATURES_AARCH64(X)
#undef X
};

#else
#error "wasmaot builds for x86-64 and aarch64 only"
#endif

/* Bits of `required` with no row are never present: a corrupt mask refuses. */
uint64_t wasmaot_cpu_lacks(uint64_t required, char *names, unsigned long size) {
  uint64_t missing = required & ~present();
  size_t used = 0;
  if (size > 0) names[0] = '\0';
  for (unsigned i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++) {
    if (((missing >> i) & 1) == 0 || used >= size) continue;
    /* snprintf stops at `size` (the names are for a message; the mask is exact). */
    int n = snprintf(names + used, size - used, "%s%s", used ? ", " : "", feature_names[i]);
    if (n > 0) used += (size_t)n;
  }
  return missing;
}
