/* Globals: one reference-counted cell each, so an exported global outlives
 * its instance while an importer or the embedder still holds it. */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <string.h>

struct wasmaot_global *wasmaot_global_new(uint64_t valtype, uint64_t mutable_,
                                          const union wasmaot_value *init) {
  void *p = NULL;
  /* 16-byte aligned: generated code may load a v128 cell with align 16. */
  if (posix_memalign(&p, 16, sizeof(struct wasmaot_global)) != 0) return NULL;
  struct wasmaot_global *g = p;
  memset(g, 0, sizeof *g);
  if (init) g->value = *init;
  g->valtype = valtype;
  g->mutable = mutable_;
  g->refcount = 1;
  wasmaot_rt_roots_add_global(g); /* the exception collector reads its cell */
  return g;
}

void wasmaot_global_retain(struct wasmaot_global *global) {
  __atomic_add_fetch(&global->refcount, 1, __ATOMIC_RELAXED);
}

void wasmaot_global_release(struct wasmaot_global *global) {
  if (global == NULL) return;
  if (__atomic_sub_fetch(&global->refcount, 1, __ATOMIC_ACQ_REL) != 0) return;
  wasmaot_rt_roots_remove(global);
  free(global);
}
