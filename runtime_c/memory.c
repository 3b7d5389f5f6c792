/* Linear memories: reservation, growth, and the bulk-memory operations.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  The reservation sizes below are what makes generated code's
 *  unchecked loads and stores safe.  A change here that is more than cosmetic needs a
 *  second reviewer, who should re-derive the guard arithmetic from scratch and read
 *  codegen/memory.py (how loads are lowered) alongside.
 * ====================================================================================
 *
 * Two kinds of memory, decided when the memory is created:
 *
 * GUARDED (32-bit index, 64 KiB pages, code compiled without explicit checks).
 *   Generated code computes  base + zext(i32 index) + offset  with offset a u32
 *   immediate, and loads up to 16 bytes (v128) there, without any check.  The
 *   largest address it can touch is therefore
 *       base + (2^32 - 1) + (2^32 - 1) + 15  <  base + 2^33 + 16.
 *   We reserve GUARDED_RESERVATION = 2^33 + 64 KiB bytes PROT_NONE up front and
 *   make only [base, base + size) readable and writable, so every access beyond the
 *   current size lands in our PROT_NONE reservation and faults; trap.c/signals.c
 *   turn that fault into MEMORY_OOB because the address is inside a registered
 *   reservation.  The size never exceeds 4 GiB (65536 pages), so the guard is
 *   always at least 4 GiB + 64 KiB.  The 64 KiB past 2^33 covers the access size
 *   with room, on 4 KiB, 16 KiB and 64 KiB host pages alike.
 *
 *   FOLD-SAFE: a guarded memory whose minimum is at most FOLD_MAX_PAGES = 65535
 *   pages also gets FOLD_LOW_GUARD = 64 KiB of PROT_NONE directly below its base
 *   (inside the registered range, so a fault there is MEMORY_OOB too) and a
 *   maximum of FOLD_MAX_PAGES pages.  Code may then compute the address of
 *   `i32.add X, c` (-64 KiB <= c < 0, memarg offset 0) as base + zext(X) + c
 *   (codegen/memory.py, docs/notes/address-folding.md): when X + c wraps, wasm
 *   accesses 2^32 + X + c >= 2^32 - 64 KiB >= size (a trap), and the folded
 *   address is in [base - 64 KiB, base - 1], which faults.  The cap keeps
 *   `2^32 - 64 KiB >= size` true for all time; a grow past it returns -1, which
 *   the spec allows (the one difference from an engine without the cap).  A
 *   guarded memory whose minimum is 65536 pages keeps the old layout and is not
 *   fold-safe: code that folds refuses it (instance.c memory_matches, and below).
 *
 * EXPLICIT (memory64; --bounds-checks=explicit; or one-byte pages).
 *   Code compares every access with `size` before making it, so only the
 *   maximum size needs to be reserved (capped by the embedder's limit and by
 *   WASMAOT_RT_MAX_EXPLICIT_RESERVATION), and the base still never moves.
 *   memory64 cannot use guards: a 64-bit index spans more than the address space.
 *   One-byte pages (custom-page-sizes) cannot either: host protection works in
 *   whole host pages (4 KiB or more), so a 5-byte memory is readable up to 4 KiB
 *   and an access at 5..4095 would not fault.
 *
 * The memory's accessible part only grows (wasm memories never shrink), and fresh
 * anonymous pages read as zero, so growth never has to clear anything.
 *
 * The bulk operations (fill, copy, init) check the whole range before the first
 * write, with overflow-safe arithmetic on unsigned 64-bit values, so a trap leaves
 * memory unchanged, as the spec requires.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The guard past 2^33 for GUARDED memories (see above): defined once, in
 * codegen/abi.py, because codegen decides from the same number which accesses
 * may go unchecked.  Not a build switch: shrinking it would let code reach past
 * the reservation. */
#define GUARDED_RESERVATION WASMAOT_GUARDED_RESERVATION
_Static_assert(WASMAOT_GUARDED_RESERVATION >= (1ull << 33) + 16,
               "a u32 index + u32 offset + a 16-byte access must stay inside the reservation");
/* The low guard must cover every folded constant, keep the base aligned to any
 * host page size (up to 64 KiB), and the cap must keep a fold-safe memory below
 * 2^32 - FOLD_MAX_CONSTANT bytes (abi.py). */
_Static_assert(WASMAOT_FOLD_LOW_GUARD >= WASMAOT_FOLD_MAX_CONSTANT,
               "a folded constant must not reach below the low guard");
_Static_assert(WASMAOT_FOLD_LOW_GUARD % 65536 == 0, "the base must stay host-page aligned");
_Static_assert((WASMAOT_FOLD_MAX_PAGES << 16) <= (1ull << 32) - WASMAOT_FOLD_MAX_CONSTANT,
               "a wrapped folded address must stay out of bounds at the largest size");
/* Largest page count of a 32-bit memory: 2^32 bytes of 64 KiB pages; with
 * one-byte pages 2^32 - 1 (so that -1 stays the failure result of grow). */
#define MAX_PAGES_I32_64K 65536ull
#define MAX_PAGES_I32_1B 0xFFFFFFFFull

static uint64_t host_page_size(void) {
  static uint64_t cached;
  if (cached == 0) {
    long p = sysconf(_SC_PAGESIZE);
    cached = p > 0 ? (uint64_t)p : 4096;
  }
  return cached;
}

/* Round up to whole host pages; 1 on overflow. */
static int round_to_host_pages(uint64_t bytes, uint64_t *out) {
  uint64_t page = host_page_size();
  uint64_t sum;
  if (wasmaot_rt_add_overflows(bytes, page - 1, &sum)) return 1;
  *out = sum & ~(page - 1);
  return 0;
}

/* Make [0, bytes) accessible.  0 on success. */
static int make_accessible(struct wasmaot_rt_memory *m, uint64_t bytes) {
  uint64_t need;
  if (round_to_host_pages(bytes, &need)) return -1;
  if (need <= m->accessible) return 0;
  if (need > m->abi.reserved) return -1; /* cannot happen: max_pages bounds it */
  if (mprotect(m->abi.base + m->accessible, need - m->accessible, PROT_READ | PROT_WRITE) != 0)
    return -1;
  m->accessible = need;
  return 0;
}

struct wasmaot_rt_memory *wasmaot_rt_memory_create(const struct wasmaot_memory_desc *type,
                                                   const struct wasmaot_config *config,
                                                   char *errbuf, size_t errlen) {
  if (type->page_size_log2 != 16 && type->page_size_log2 != 0) {
    wasmaot_rt_error(errbuf, errlen, "unsupported memory page size 2^%llu",
                     (unsigned long long)type->page_size_log2);
    return NULL;
  }
  uint64_t log2 = type->page_size_log2;
  /* The module says how its code checks this memory (abi.py MEMORY_DESC); the
   * embedder's config can only ask for explicit checks, never remove them. */
  int explicit_checks = type->explicit_checks || (config && config->explicit_bounds_checks) ||
                        type->is64 || log2 == 0;

  /* The largest size the index type allows, then the type's and embedder's caps. */
  uint64_t max = type->is64 ? (log2 == 16 ? (1ull << 48) : UINT64_MAX - 1)
                            : (log2 == 16 ? MAX_PAGES_I32_64K : MAX_PAGES_I32_1B);
  if (type->max < max) max = type->max;
  if (config && config->max_memory_bytes && (config->max_memory_bytes >> log2) < max)
    max = config->max_memory_bytes >> log2;
  if (explicit_checks && (WASMAOT_RT_MAX_EXPLICIT_RESERVATION >> log2) < max)
    max = WASMAOT_RT_MAX_EXPLICIT_RESERVATION >> log2;
  if (type->min > max) {
    wasmaot_rt_error(errbuf, errlen,
                     "memory minimum of %llu pages exceeds the limit of %llu pages",
                     (unsigned long long)type->min, (unsigned long long)max);
    return NULL;
  }

  /* Fold-safe (see above): a guarded memory that can live with the cap gets it, and
   * the low guard.  Without the cap a memory could grow over 2^32 - 64 KiB, where a
   * folded address that wrapped in wasm (a trap) would land inside it.  Shared
   * memories are never folded into (codegen's ModuleEmitter.folds_adds), so they
   * keep their full size. */
  int fold_safe = !explicit_checks && !type->shared && type->min <= WASMAOT_FOLD_MAX_PAGES;
  if (fold_safe && max > WASMAOT_FOLD_MAX_PAGES) max = WASMAOT_FOLD_MAX_PAGES;
  /* SANDBOX: code that folds address constants must get a fold-safe memory, or a
   * wrapped address would reach below the base into memory that is not ours. */
  if (type->folds_adds && !fold_safe) {
    wasmaot_rt_error(errbuf, errlen,
                     "the module folds address constants but the memory cannot have the low "
                     "guard and the cap of %llu pages (explicit bounds checks, or a minimum "
                     "above the cap)", (unsigned long long)WASMAOT_FOLD_MAX_PAGES);
    return NULL;
  }

  uint64_t reserve, low = fold_safe ? WASMAOT_FOLD_LOW_GUARD : 0;
  if (explicit_checks) {
    /* max << log2 <= WASMAOT_RT_MAX_EXPLICIT_RESERVATION: no overflow. */
    if (round_to_host_pages(max << log2, &reserve)) reserve = 0;
    if (reserve == 0) reserve = host_page_size(); /* a base that is not NULL */
  } else {
    reserve = GUARDED_RESERVATION;
  }

  struct wasmaot_rt_memory *m = calloc(1, sizeof *m);
  if (m == NULL) {
    wasmaot_rt_error(errbuf, errlen, "out of memory creating a memory");
    return NULL;
  }
  /* PROT_NONE: nothing is accessible until grown.  MAP_NORESERVE: address
   * space only, no commit charge for the (mostly never used) reservation.  The
   * low guard is part of the same mapping: nothing else can sit between it and
   * the base. */
  uint8_t *start = mmap(NULL, low + reserve, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (start == MAP_FAILED) {
    wasmaot_rt_error(errbuf, errlen, "cannot reserve %llu bytes of address space for a memory: %s",
                     (unsigned long long)(low + reserve), strerror(errno));
    free(m);
    return NULL;
  }
  uint8_t *base = start + low;
  m->abi.base = base;
  m->abi.reserved = reserve;
  m->abi.max_pages = max;
  m->abi.page_size_log2 = log2;
  m->abi.is64 = type->is64;
  m->refcount = 1;
  m->declared_max = type->max;
  m->shared = type->shared;
  m->guarded = !explicit_checks;
  m->low_guard = low;
  m->fold_safe = fold_safe;
  /* The whole mapping, low guard included: a fault anywhere in it is MEMORY_OOB. */
  if (wasmaot_rt_registry_add_memory((uintptr_t)start, (uintptr_t)base + reserve) != 0) {
    wasmaot_rt_error(errbuf, errlen, "out of memory registering a memory");
    munmap(start, low + reserve);
    free(m);
    return NULL;
  }
  if (wasmaot_rt_memory_grow_locked(m, type->min) < 0) {
    wasmaot_rt_error(errbuf, errlen, "cannot allocate the initial %llu pages of a memory",
                     (unsigned long long)type->min);
    wasmaot_rt_registry_remove_memory((uintptr_t)start);
    munmap(start, low + reserve);
    free(m);
    return NULL;
  }
  return m;
}

int64_t wasmaot_rt_memory_grow_locked(struct wasmaot_rt_memory *m, uint64_t delta) {
  uint64_t old = m->abi.pages, new_pages;
  if (wasmaot_rt_add_overflows(old, delta, &new_pages) || new_pages > m->abi.max_pages)
    return -1;
  /* new_pages <= max_pages, which was chosen so that the byte size fits the
   * reservation; the shift cannot overflow. */
  uint64_t new_bytes = new_pages << m->abi.page_size_log2;
  if (make_accessible(m, new_bytes) != 0) return -1;
  m->abi.pages = new_pages;
  m->abi.size = new_bytes;
  return (int64_t)old;
}

static void memory_destroy(struct wasmaot_rt_memory *m) {
  /* From the true start: the low guard is part of the mapping and of the range. */
  uint8_t *start = m->abi.base - m->low_guard;
  wasmaot_rt_registry_remove_memory((uintptr_t)start);
  if (munmap(start, m->low_guard + m->abi.reserved) != 0)
    wasmaot_rt_fatal("munmap of a wasm memory");
  free(m);
}

/* --- the embedder's side ------------------------------------------------------------ */

struct wasmaot_memory *wasmaot_memory_new(const struct wasmaot_memory_desc *type,
                                          const struct wasmaot_config *config, char *errbuf,
                                          size_t errlen) {
  wasmaot_rt_lock();
  struct wasmaot_rt_memory *m = wasmaot_rt_memory_create(type, config, errbuf, errlen);
  wasmaot_rt_unlock();
  return m ? &m->abi : NULL;
}

int64_t wasmaot_memory_grow(struct wasmaot_memory *mem, uint64_t delta_pages) {
  wasmaot_rt_lock();
  int64_t old = wasmaot_rt_memory_grow_locked(wasmaot_rt_memory_of(mem), delta_pages);
  wasmaot_rt_unlock();
  return old;
}

int wasmaot_memory_is_guarded(const struct wasmaot_memory *mem) {
  return ((const struct wasmaot_rt_memory *)mem)->guarded;
}

void wasmaot_memory_retain(struct wasmaot_memory *mem) {
  __atomic_add_fetch(&wasmaot_rt_memory_of(mem)->refcount, 1, __ATOMIC_RELAXED);
}

void wasmaot_memory_release(struct wasmaot_memory *mem) {
  if (mem == NULL) return;
  struct wasmaot_rt_memory *m = wasmaot_rt_memory_of(mem);
  if (__atomic_sub_fetch(&m->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  wasmaot_rt_lock();
  memory_destroy(m);
  wasmaot_rt_unlock();
}

/* --- called by generated code --------------------------------------------------------- */

int64_t wasmaot_rt_memory_grow(struct wasmaot_vmctx *vmctx, int32_t mem, int64_t delta_pages) {
  /* The caller runs in an activation, which holds the process lock. */
  return wasmaot_rt_memory_grow_locked(wasmaot_rt_memory_of(vmctx->memories[mem]),
                                       (uint64_t)delta_pages);
}

/* [at, at + n) lies within [0, size). */
static inline int in_bounds(uint64_t at, uint64_t n, uint64_t size) {
  return n <= size && at <= size - n;
}

void wasmaot_rt_memory_init(struct wasmaot_vmctx *vmctx, int32_t mem, int32_t data, int64_t d,
                            int64_t s, int64_t n) {
  struct wasmaot_memory *m = vmctx->memories[mem];
  struct wasmaot_segment *seg = &vmctx->datas[data];
  if (!in_bounds((uint64_t)s, (uint64_t)n, seg->len) ||
      !in_bounds((uint64_t)d, (uint64_t)n, m->size))
    wasmaot_rt_trap(vmctx, WASMAOT_TRAP_MEMORY_OOB);
  if (n != 0) memcpy(m->base + (uint64_t)d, (const uint8_t *)seg->data + (uint64_t)s, (uint64_t)n);
}

void wasmaot_rt_data_drop(struct wasmaot_vmctx *vmctx, int32_t data) {
  /* The bytes belong to the module image; dropping only forgets them. */
  vmctx->datas[data].len = 0;
}
