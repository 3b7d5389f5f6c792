/* What the fault handler and backtraces consult: memory reservations and wasm code.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  A fault is turned into a trap only if it is recognised here;
 *  recognising too much hides real crashes, too little kills the process on a
 *  guest's out-of-bounds access.  Changes need a second reviewer.
 * ====================================================================================
 *
 * Memory reservations: [base, base + reserved) of every live memory.  A fault
 * address inside one, while wasm runs, is an out-of-bounds access.
 *
 * Wasm code: per module descriptor, the sorted start addresses of its code.
 * The descriptor gives the start of every wasm function but no ends, so the
 * table also holds the starts of the module's *other* code (entry thunks, host
 * adapters, init) and of the runtime's own entry points, marked "not wasm": a
 * pc belongs to the nearest start at or below it.  The module's range ends at
 * the end of the executable segment holding its code (dl_iterate_phdr).
 *
 * Locking: writers hold the process lock (trap.c).  Readers are the thread
 * running wasm, which holds it too, or its fault handler; so readers never see
 * an array being rebuilt.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <link.h>
#include <string.h>

/* --- memory reservations -------------------------------------------------------------- */

struct range {
  uintptr_t lo, hi;
};

static struct range *memories;
static size_t num_memories, cap_memories;

int wasmaot_rt_registry_add_memory(uintptr_t lo, uintptr_t hi) {
  if (num_memories == cap_memories) {
    size_t cap = cap_memories ? cap_memories * 2 : 16;
    struct range *grown = realloc(memories, cap * sizeof *grown);
    if (grown == NULL) return -1;
    memories = grown;
    cap_memories = cap;
  }
  memories[num_memories++] = (struct range){lo, hi};
  return 0;
}

void wasmaot_rt_registry_remove_memory(uintptr_t lo) {
  for (size_t i = 0; i < num_memories; i++) {
    if (memories[i].lo == lo) {
      memories[i] = memories[--num_memories];
      return;
    }
  }
}

int wasmaot_rt_registry_in_memory(uintptr_t addr) {
  for (size_t i = 0; i < num_memories; i++)
    if (addr >= memories[i].lo && addr < memories[i].hi) return 1;
  return 0;
}

/* --- wasm code -------------------------------------------------------------------------- */

struct marker {
  uintptr_t start;
  int64_t func; /* wasm function index, or -1: some other code starts here */
};

struct code_module {
  const struct wasmaot_module_desc *desc;
  uintptr_t lo, hi;
  struct marker *markers;
  size_t num_markers;
  uint64_t refcount;
};

static struct code_module *modules;
static size_t num_modules, cap_modules;

/* Weak references: an executable whose module has no exceptions links without
 * exception.c, and so without the unwinder; these are then NULL (skipped). */
#pragma weak wasmaot_rt_exception_new
#pragma weak wasmaot_rt_throw
#pragma weak wasmaot_rt_exception_free
#pragma weak wasmaot_rt_exception_escaped

/* The runtime's entry points that wasm code calls: "not wasm" markers for a
 * static executable, where the runtime may sit in the module's segment. */
static void *const runtime_entries[] = {
    (void *)wasmaot_rt_trap,        (void *)wasmaot_rt_memory_grow, (void *)wasmaot_rt_memory_init,
    (void *)wasmaot_rt_data_drop,
    (void *)wasmaot_rt_table_grow,  (void *)wasmaot_rt_table_fill,  (void *)wasmaot_rt_table_copy,
    (void *)wasmaot_rt_table_init,  (void *)wasmaot_rt_elem_drop,
    (void *)wasmaot_rt_func_type_matches, (void *)wasmaot_rt_host_call, (void *)wasmaot_invoke,
    (void *)wasmaot_rt_exception_new, (void *)wasmaot_rt_throw, (void *)wasmaot_rt_exception_free,
    (void *)wasmaot_rt_exception_escaped,
};

struct segment_query {
  uintptr_t addr;
  uintptr_t lo, hi;
};

static int find_segment(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct segment_query *q = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (q->addr >= lo && q->addr < lo + ph->p_memsz) {
      q->lo = lo;
      q->hi = lo + ph->p_memsz;
      return 1;
    }
  }
  return 0;
}

static int by_start(const void *a, const void *b) {
  const struct marker *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  /* Ties (identical code folded together): the wasm entry last, so lookups find it. */
  return (x->func > y->func) - (x->func < y->func);
}

int wasmaot_rt_registry_add_module(const struct wasmaot_module_desc *desc) {
  for (size_t i = 0; i < num_modules; i++) {
    if (modules[i].desc == desc) {
      modules[i].refcount++;
      return 0;
    }
  }
  size_t n_runtime = sizeof runtime_entries / sizeof runtime_entries[0];
  size_t max = desc->num_funcs + desc->num_types + desc->num_imported_funcs + 1 + n_runtime;
  struct marker *m = calloc(max ? max : 1, sizeof *m);
  if (m == NULL) return -1;
  size_t n = 0;
  for (uint64_t i = desc->num_imported_funcs; i < desc->num_funcs; i++)
    if (desc->func_code[i]) m[n++] = (struct marker){(uintptr_t)desc->func_code[i], (int64_t)i};
  size_t n_wasm = n;
  for (uint64_t t = 0; desc->entry_thunks && t < desc->num_types; t++)
    if (desc->entry_thunks[t]) m[n++] = (struct marker){(uintptr_t)desc->entry_thunks[t], -1};
  for (uint64_t i = 0; desc->host_adapters && i < desc->num_imported_funcs; i++)
    if (desc->host_adapters[i]) m[n++] = (struct marker){(uintptr_t)desc->host_adapters[i], -1};
  if (desc->init) m[n++] = (struct marker){(uintptr_t)desc->init, -1};
  for (size_t i = 0; i < n_runtime; i++)
    if (runtime_entries[i]) m[n++] = (struct marker){(uintptr_t)runtime_entries[i], -1};
  qsort(m, n, sizeof *m, by_start);

  /* The module's range: the executable segment holding its first wasm function. */
  uintptr_t lo = 0, hi = 0;
  if (n_wasm > 0) {
    uintptr_t first = UINTPTR_MAX;
    for (size_t i = 0; i < n; i++)
      if (m[i].func >= 0 && m[i].start < first) first = m[i].start;
    struct segment_query q = {first, 0, 0};
    if (dl_iterate_phdr(find_segment, &q)) {
      lo = q.lo;
      hi = q.hi;
    }
  }
  if (num_modules == cap_modules) {
    size_t cap = cap_modules ? cap_modules * 2 : 8;
    struct code_module *grown = realloc(modules, cap * sizeof *grown);
    if (grown == NULL) {
      free(m);
      return -1;
    }
    modules = grown;
    cap_modules = cap;
  }
  modules[num_modules++] = (struct code_module){desc, lo, hi, m, n, 1};
  return 0;
}

void wasmaot_rt_registry_remove_module(const struct wasmaot_module_desc *desc) {
  for (size_t i = 0; i < num_modules; i++) {
    if (modules[i].desc == desc) {
      if (--modules[i].refcount == 0) {
        free(modules[i].markers);
        modules[i] = modules[--num_modules];
      }
      return;
    }
  }
}

int wasmaot_rt_registry_lookup_code(uintptr_t pc, const struct wasmaot_module_desc **desc,
                                    uint64_t *func) {
  for (size_t i = 0; i < num_modules; i++) {
    const struct code_module *cm = &modules[i];
    if (pc < cm->lo || pc >= cm->hi) continue;
    /* The last marker whose start is <= pc. */
    size_t lo = 0, hi = cm->num_markers;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (cm->markers[mid].start <= pc)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo == 0 || cm->markers[lo - 1].func < 0) return 0;
    *desc = cm->desc;
    *func = (uint64_t)cm->markers[lo - 1].func;
    return 1;
  }
  return 0;
}
