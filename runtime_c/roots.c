/* Where an exnref may be stored outside stacks and exception objects: globals and
 * tables whose type may hold one.  The exception collector (exception.c) reads
 * every cell of them as a root, so it must know all of them: a global or table
 * made anywhere (an instance's own, an import, the embedder's) is recorded when
 * it is made and forgotten when it is freed.  If recording ever fails (out of
 * memory), the set is incomplete from then on and the collector never runs
 * again: keeping every object is always safe, freeing one a forgotten table
 * still names would be a use-after-free wasm code could read and write through.
 *
 * The set is guarded by the process lock (trap.c), which the collector holds
 * (it runs inside an activation).
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <string.h>

struct holder {
  void *object;
  int is_table; /* 1: struct wasmaot_rt_table, 0: struct wasmaot_global */
};

static struct holder *holders;
static size_t count, capacity;
static int incomplete;

int wasmaot_rt_valtype_may_hold_exnref(uint64_t valtype) {
  switch (valtype) {
    /* Numbers, v128, and the func and extern families: wasm's types cannot put
     * an exnref there, and the embedder's externref handles are its own. */
    case WASMAOT_VAL_I32: case WASMAOT_VAL_I64: case WASMAOT_VAL_F32: case WASMAOT_VAL_F64:
    case WASMAOT_VAL_V128: case WASMAOT_VAL_FUNCREF: case WASMAOT_VAL_EXTERNREF:
      return 0;
    default: /* exnref, and any code we do not know: scan it */
      return 1;
  }
}

static void add(void *object, int is_table) {
  wasmaot_rt_lock();
  if (count == capacity) {
    size_t cap = capacity ? capacity * 2 : 16;
    struct holder *h = cap <= SIZE_MAX / sizeof *h ? realloc(holders, cap * sizeof *h) : NULL;
    if (h == NULL) {
      incomplete = 1; /* the collector must never run: see above */
      wasmaot_rt_unlock();
      return;
    }
    holders = h;
    capacity = cap;
  }
  holders[count++] = (struct holder){object, is_table};
  wasmaot_rt_unlock();
}

void wasmaot_rt_roots_add_global(struct wasmaot_global *g) {
  if (wasmaot_rt_valtype_may_hold_exnref(g->valtype)) add(g, 0);
}

void wasmaot_rt_roots_add_table(struct wasmaot_rt_table *t) {
  if (wasmaot_rt_valtype_may_hold_exnref(t->reftype)) add(t, 1);
}

void wasmaot_rt_roots_remove(void *object) {
  wasmaot_rt_lock();
  for (size_t i = 0; i < count; i++) {
    if (holders[i].object == object) {
      holders[i] = holders[--count];
      break;
    }
  }
  wasmaot_rt_unlock();
}

int wasmaot_rt_roots_each_word(void (*visit)(uintptr_t word, void *ctx), void *ctx,
                               uint64_t *words) {
  if (incomplete) return -1;
  uint64_t n = 0;
  for (size_t i = 0; i < count; i++) {
    if (holders[i].is_table) {
      const struct wasmaot_rt_table *t = holders[i].object;
      for (uint64_t k = 0; k < t->abi.size; k++) visit((uintptr_t)t->abi.elems[k], ctx);
      n += t->abi.size;
    } else {
      const struct wasmaot_global *g = holders[i].object;
      uintptr_t cell[sizeof g->value / sizeof(uintptr_t)];
      memcpy(cell, &g->value, sizeof cell);
      for (size_t k = 0; k < sizeof cell / sizeof cell[0]; k++) visit(cell[k], ctx);
      n += sizeof cell / sizeof cell[0];
    }
  }
  *words = n;
  return 0;
}
