/* Tables: creation, growth and the bulk table operations.
 *
 * A table is an array of reference pointers (a `wasmaot_funcref *` for funcref
 * tables, the embedder's pointer for externref; NULL is null).  Unlike a memory
 * its array may move when it grows: generated code reloads `elems` on every
 * access.  Growth is capped by the type's maximum and the embedder's
 * max_table_elements.  Bulk operations check the whole range before the first
 * write, so a trap leaves the table unchanged.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <string.h>

static uint64_t element_cap(const struct wasmaot_config *config) {
  if (config && config->max_table_elements) return config->max_table_elements;
  return WASMAOT_RT_DEFAULT_MAX_TABLE_ELEMENTS;
}

struct wasmaot_rt_table *wasmaot_rt_table_create(const struct wasmaot_table_desc *type,
                                                 void *init, const struct wasmaot_config *config,
                                                 char *errbuf, size_t errlen) {
  uint64_t limit = element_cap(config);
  if (type->max < limit) limit = type->max;
  if (type->min > limit) {
    wasmaot_rt_error(errbuf, errlen, "table minimum of %llu elements exceeds the limit of %llu",
                     (unsigned long long)type->min, (unsigned long long)limit);
    return NULL;
  }
  struct wasmaot_rt_table *t = calloc(1, sizeof *t);
  if (t == NULL) {
    wasmaot_rt_error(errbuf, errlen, "out of memory creating a table");
    return NULL;
  }
  t->abi.max = type->max;
  t->abi.is64 = type->is64;
  t->refcount = 1;
  t->limit = limit;
  t->reftype = type->reftype;
  if (wasmaot_rt_table_grow_locked(t, type->min, init) < 0) {
    wasmaot_rt_error(errbuf, errlen, "out of memory allocating %llu table elements",
                     (unsigned long long)type->min);
    free(t);
    return NULL;
  }
  wasmaot_rt_roots_add_table(t); /* the exception collector reads its elements */
  return t;
}

int64_t wasmaot_rt_table_grow_locked(struct wasmaot_rt_table *t, uint64_t delta, void *init) {
  uint64_t old = t->abi.size, new_size;
  if (wasmaot_rt_add_overflows(old, delta, &new_size) || new_size > t->limit) return -1;
  if (new_size > t->abi.capacity) {
    /* Double, to keep repeated grows linear; never past the limit.  limit <=
     * 2^61 is not guaranteed for a 64-bit table, hence the checked multiply. */
    uint64_t cap = t->abi.capacity * 2 > new_size ? t->abi.capacity * 2 : new_size;
    if (cap > t->limit) cap = t->limit;
    uint64_t bytes;
    if (__builtin_mul_overflow(cap, sizeof(void *), &bytes) || bytes > SIZE_MAX) return -1;
    void **elems = realloc(t->abi.elems, bytes ? bytes : sizeof(void *));
    if (elems == NULL) return -1;
    t->abi.elems = elems;
    t->abi.capacity = cap;
  }
  for (uint64_t i = old; i < new_size; i++) t->abi.elems[i] = init;
  t->abi.size = new_size;
  return (int64_t)old;
}

/* --- the embedder's side ------------------------------------------------------------ */

struct wasmaot_table *wasmaot_table_new(const struct wasmaot_table_desc *type, void *init,
                                        const struct wasmaot_config *config, char *errbuf,
                                        size_t errlen) {
  struct wasmaot_rt_table *t = wasmaot_rt_table_create(type, init, config, errbuf, errlen);
  return t ? &t->abi : NULL;
}

int64_t wasmaot_table_grow(struct wasmaot_table *table, uint64_t delta, void *init) {
  wasmaot_rt_lock();
  int64_t old = wasmaot_rt_table_grow_locked(wasmaot_rt_table_of(table), delta, init);
  wasmaot_rt_unlock();
  return old;
}

void wasmaot_table_retain(struct wasmaot_table *table) {
  __atomic_add_fetch(&wasmaot_rt_table_of(table)->refcount, 1, __ATOMIC_RELAXED);
}

void wasmaot_table_release(struct wasmaot_table *table) {
  if (table == NULL) return;
  struct wasmaot_rt_table *t = wasmaot_rt_table_of(table);
  if (__atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  wasmaot_rt_roots_remove(t);
  free(t->abi.elems);
  free(t);
}

/* --- called by generated code --------------------------------------------------------- */

static inline int in_bounds(uint64_t at, uint64_t n, uint64_t size) {
  return n <= size && at <= size - n;
}

int64_t wasmaot_rt_table_grow(struct wasmaot_vmctx *vmctx, int32_t table, void *init,
                              int64_t delta) {
  /* The caller runs in an activation, which holds the process lock. */
  return wasmaot_rt_table_grow_locked(wasmaot_rt_table_of(vmctx->tables[table]), (uint64_t)delta,
                                      init);
}

void wasmaot_rt_table_fill(struct wasmaot_vmctx *vmctx, int32_t table, int64_t i, void *ref,
                           int64_t n) {
  struct wasmaot_table *t = vmctx->tables[table];
  if (!in_bounds((uint64_t)i, (uint64_t)n, t->size)) wasmaot_rt_trap(vmctx, WASMAOT_TRAP_TABLE_OOB);
  for (uint64_t k = 0; k < (uint64_t)n; k++) t->elems[(uint64_t)i + k] = ref;
}

void wasmaot_rt_table_copy(struct wasmaot_vmctx *vmctx, int32_t dst_table, int32_t src_table,
                           int64_t d, int64_t s, int64_t n) {
  struct wasmaot_table *dt = vmctx->tables[dst_table], *st = vmctx->tables[src_table];
  if (!in_bounds((uint64_t)d, (uint64_t)n, dt->size) ||
      !in_bounds((uint64_t)s, (uint64_t)n, st->size))
    wasmaot_rt_trap(vmctx, WASMAOT_TRAP_TABLE_OOB);
  if (n != 0)
    memmove(dt->elems + (uint64_t)d, st->elems + (uint64_t)s, (uint64_t)n * sizeof(void *));
}

void wasmaot_rt_table_init(struct wasmaot_vmctx *vmctx, int32_t table, int32_t elem, int64_t d,
                           int64_t s, int64_t n) {
  struct wasmaot_table *t = vmctx->tables[table];
  struct wasmaot_segment *seg = &vmctx->elems[elem];
  if (!in_bounds((uint64_t)s, (uint64_t)n, seg->len) ||
      !in_bounds((uint64_t)d, (uint64_t)n, t->size))
    wasmaot_rt_trap(vmctx, WASMAOT_TRAP_TABLE_OOB);
  if (n != 0)
    memcpy(t->elems + (uint64_t)d, (void *const *)seg->data + (uint64_t)s,
           (uint64_t)n * sizeof(void *));
}

void wasmaot_rt_elem_drop(struct wasmaot_vmctx *vmctx, int32_t elem) {
  /* The item array stays allocated until the instance is freed. */
  vmctx->elems[elem].len = 0;
}
