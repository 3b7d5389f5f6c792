/* The process-wide type registry: canonical type id -> declared supertype.
 *
 * `call_indirect` and `call_ref` casts compare a function's type id with the
 * expected one.  Generated code tests equality itself and calls
 * wasmaot_rt_func_type_matches only when they differ, to follow declared
 * supertypes (function subtyping).  Ids are the embedder's canonical ids: equal
 * ids mean structurally equal (iso-recursive) types across all modules of the
 * process.  They are small and dense, so the registry is an array.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */

#define UNREGISTERED (-2)
/* The spec bounds subtyping depth by 63; chains are walked at most this far. */
#define MAX_DEPTH 64
#define MAX_ID (1u << 24)

static int64_t *supers;   /* supers[id]: super id, -1 (none) or UNREGISTERED */
static uint64_t capacity;
static uint64_t next_free; /* ids below are handed out by wasmaot_rt_reserve_type_ids */

static int64_t reserve_locked(uint64_t n) {
  if (n >= MAX_ID || next_free > MAX_ID - n) return -1;
  int64_t base = (int64_t)next_free;
  next_free += n;
  return base;
}

int64_t wasmaot_rt_reserve_type_ids(uint64_t n) {
  wasmaot_rt_lock();
  int64_t base = reserve_locked(n);
  wasmaot_rt_unlock();
  return base;
}

/* Modules instantiated without embedder ids: one block of ids per descriptor,
 * shared by all its instances (so their functions have equal type ids). */
static struct {
  const struct wasmaot_module_desc *desc;
  int64_t base;
} *module_bases;
static uint64_t num_module_bases;

int64_t wasmaot_rt_module_type_base(const struct wasmaot_module_desc *desc) {
  int64_t base = -1;
  wasmaot_rt_lock();
  for (uint64_t i = 0; i < num_module_bases; i++) {
    if (module_bases[i].desc == desc) {
      base = module_bases[i].base;
      goto out;
    }
  }
  void *grown = realloc(module_bases, (num_module_bases + 1) * sizeof *module_bases);
  if (grown == NULL) goto out;
  module_bases = grown;
  base = reserve_locked(desc->num_types);
  if (base >= 0) {
    module_bases[num_module_bases].desc = desc;
    module_bases[num_module_bases].base = base;
    num_module_bases++;
  }
out:
  wasmaot_rt_unlock();
  return base;
}

int wasmaot_rt_register_type(uint64_t id, int64_t super_id) {
  if (id >= MAX_ID || super_id >= (int64_t)MAX_ID || super_id < -1 || (int64_t)id == super_id)
    return -1;
  int rc = 0;
  wasmaot_rt_lock();
  if (id >= capacity) {
    uint64_t cap = capacity ? capacity : 64;
    while (cap <= id) cap *= 2;
    int64_t *grown = realloc(supers, cap * sizeof *grown);
    if (grown == NULL) {
      rc = -1;
      goto out;
    }
    for (uint64_t i = capacity; i < cap; i++) grown[i] = UNREGISTERED;
    supers = grown;
    capacity = cap;
  }
  if (supers[id] != UNREGISTERED) {
    rc = supers[id] == super_id ? 0 : -1;
    goto out;
  }
  /* The new edge must not close a cycle or make a chain deeper than MAX_DEPTH. */
  int64_t s = super_id;
  for (int depth = 0; s >= 0; depth++) {
    if (depth >= MAX_DEPTH || (uint64_t)s == id) {
      rc = -1;
      goto out;
    }
    s = (uint64_t)s < capacity ? supers[s] : -1;
  }
  supers[id] = super_id;
out:
  wasmaot_rt_unlock();
  return rc;
}

int wasmaot_rt_type_matches(uint64_t actual, uint64_t expected) {
  if (actual == expected) return 1;
  for (int depth = 0; depth < MAX_DEPTH && actual < capacity; depth++) {
    int64_t s = supers[actual];
    if (s < 0) return 0;
    if ((uint64_t)s == expected) return 1;
    actual = (uint64_t)s;
  }
  return 0;
}

int32_t wasmaot_rt_func_type_matches(struct wasmaot_vmctx *vmctx, int64_t actual,
                                     int64_t expected) {
  (void)vmctx;
  /* Called from wasm code: its activation holds the process lock, so the
   * registry cannot change under us. */
  return wasmaot_rt_type_matches((uint64_t)actual, (uint64_t)expected);
}
