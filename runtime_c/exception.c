/* Wasm exceptions: exception objects, throwing, the personality routine.
 *
 * ====================================================================================
 *  SANDBOX-CRITICAL.  A throw discards native frames (like a trap, see trap.c), and
 *  an exception object is memory that wasm code reads by address (exnref).  Changes
 *  need a second reviewer.
 * ====================================================================================
 *
 * Mechanism (docs/RATIONALE.md, "Exceptions"): LLVM's zero-cost EH.  Calls inside
 * a try_table are `invoke`s whose landing pads are `cleanup` pads; the pad's code
 * compares the exception's tag instance with its catch clauses and either takes
 * the exception or `resume`s the unwind.  Every entry thunk `invoke`s the wasm
 * function with a pad that catches every wasm exception and hands it to
 * wasmaot_rt_exception_escaped, so an exception never unwinds past its
 * activation into host frames.
 *
 *   wasmaot_rt_exception_new   allocates an object for tag index i of the caller's
 *                              instance; generated code stores the payload cells.
 *   wasmaot_rt_throw           unwinds with _Unwind_ForcedUnwind (cleanup phase
 *                              only: the entry thunk always catches, so a search
 *                              phase would only double the cost).
 *   wasmaot_personality        installs the landing pad the LSDA gives for the call
 *                              site, whatever the tag (it has no vmctx to compare
 *                              tags with); other exception classes pass through.
 *   wasmaot_rt_exception_escaped  ends the activation like a trap, status EXCEPTION.
 *
 * Traps never come here: they stay siglongjmps to the activation (trap.c), so no
 * landing pad ever sees a trap, as the spec requires.
 *
 * Lifetime of exception objects.  An object that was never handed out as an
 * exnref is named only by the generated code between its allocation and its
 * throw, by the unwinder, and by the one landing pad that takes it:
 * `catch`/`catch_all` free it at once (wasmaot_rt_exception_free).  Once
 * handed out (catch_ref, catch_all_ref, a legacy catch, the embedder:
 * `referenced` bit 0) it may sit in locals, globals, tables, other exceptions'
 * payloads and the embedder's hands, and only the collector below may free it.
 * Freeing an object anything still names would be a use-after-free that wasm
 * code reads and writes through, a sandbox hole; so the collector is
 * conservative, and every doubt keeps the object.
 *
 * The collector (mark and sweep, non-moving).  wasmaot_rt_exception_new runs
 * it when the live objects exceed a budget (twice the survivors of the last
 * collection, at least GC_MIN_BUDGET), so its cost per throw is amortized O(1).
 * It runs inside an activation, holding the process lock (trap.c), so no
 * other thread runs wasm or changes the object list meanwhile.  The roots are
 *   - every object never handed out (the exact rule above owns those), every
 *     object in flight (`referenced` bit 1: thrown, not yet taken by a
 *     handler) and every object the embedder pinned (`pins`);
 *   - every word of this thread's stack from the current frame, after all
 *     callee-saved registers are spilled into it, up to the entry of the
 *     outermost activation: wasm frames, the runtime's and host callbacks'
 *     frames between nested activations.  A word anywhere inside an object,
 *     or one past it, names it (LLVM may keep only an address into the cells);
 *   - the exceptions the activations hold (host_exception, trap->exception);
 *   - every cell of every global and table whose type may hold an exnref
 *     (roots.c records them all, instances' own, imported and the embedder's);
 *   - transitively, every payload cell (any type) of a marked object.
 * Nothing else can name an exception: references cannot be stored in linear
 * memory, no other thread runs wasm while we hold the lock, and whatever the
 * embedder reads out of the runtime it pins while holding the lock
 * (wasmaot_exception_load*, the results an entry thunk hands out, an escaped
 * exception) before it can leave those places.  The collector does not run,
 * keeping everything, if it cannot see all of this: the stack range is not
 * inside this thread's known stack (wasm entered on another stack), roots.c
 * lost a holder, or it is out of memory for its tables.
 *
 * Every live object is on one process-wide list (`next`, guarded by the process
 * lock), and wasmaot_exceptions_live counts them.
 *
 * Backtraces.  The frames are gone when the entry thunk's pad runs, so the
 * unwind records the return addresses it passes in the activation (the stop
 * function sees every frame: a store each, no lookup); only an exception that escapes turns them
 * into (module, function) frames.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <string.h>
#include <unwind.h>

_Static_assert(sizeof(struct _Unwind_Exception) == offsetof(struct wasmaot_exception, tag),
               "wasmaot_exception must start with the unwinder's _Unwind_Exception");
_Static_assert(sizeof(struct wasmaot_exception) % 16 == 0,
               "payload cells (v128 among them) must stay 16-byte aligned");

/* `referenced` bits (abi.EXCEPTION).  Generated code stores HANDED_OUT (1) when
 * a handler takes an exnref, which also clears IN_FLIGHT. */
#define HANDED_OUT 1u
#define IN_FLIGHT 2u

/* The collector runs when live objects exceed the survivors of the last
 * collection by max(GC_MIN_BUDGET, survivors, root words / 16): amortized O(1)
 * per allocation, whatever the stack, tables and survivors cost to scan. */
#define GC_MIN_BUDGET 1024u

/* Every live object, newest first, and how many (process lock). */
static struct wasmaot_exception *all_objects;
static uint64_t live_count; /* also read without the lock: atomics */
static uint64_t collect_above = GC_MIN_BUDGET;
/* WASMAOT_EXN_GC_STRESS=1 (tests only): collect at every allocation, so a
 * root the collector misses shows up as a use-after-free at once.  It only
 * makes collections more frequent, never frees more than a collection may. */
static int gc_stress = -1;

uint64_t wasmaot_exceptions_live(void) {
  return __atomic_load_n(&live_count, __ATOMIC_RELAXED);
}

/* --- objects -------------------------------------------------------------------------- */

static void cleanup_foreign(_Unwind_Reason_Code why, struct _Unwind_Exception *uw);

/* The object's bytes: header and cells.  0 if it would not fit in memory. */
static uint64_t object_size(uint64_t num_values) {
  /* num_values comes from a validated type (at most the spec's parameter limit),
   * but the size must not wrap whatever it is: a short object would let pads
   * read and write past it. */
  uint64_t cells, size;
  if (__builtin_mul_overflow(num_values, (uint64_t)sizeof(union wasmaot_value), &cells) ||
      wasmaot_rt_add_overflows(cells, sizeof(struct wasmaot_exception), &size) || size > SIZE_MAX)
    return 0;
  return size;
}

/* A new object of `tag`, its cells zeroed, on the list; NULL if out of memory.
 * Caller holds the process lock. */
static struct wasmaot_exception *exception_alloc(struct wasmaot_tag *tag) {
  uint64_t size = object_size(tag->num_values);
  if (size == 0) return NULL;
  struct wasmaot_exception *e = aligned_alloc(16, (size_t)size);
  if (e == NULL) return NULL;
  memset(e, 0, (size_t)size);
  e->exception_class = WASMAOT_EXCEPTION_CLASS;
  e->exception_cleanup = (void *)cleanup_foreign;
  e->tag = tag;
  e->num_values = tag->num_values;
  e->next = all_objects;
  all_objects = e;
  __atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
  return e;
}

/* Whether the exact rule may free `e` at a catch: nothing was ever handed an
 * exnref to it (so nothing but the pad names it) and the embedder holds none. */
static int only_the_pad_names(const struct wasmaot_exception *e) {
  return (e->referenced & HANDED_OUT) == 0 && __atomic_load_n(&e->pins, __ATOMIC_ACQUIRE) == 0;
}

/* Unlinks and frees `e`.  Caller holds the process lock.  The object a catch
 * frees is nearly always the newest on the list: unlinking walks only over
 * exceptions in flight, which are newer. */
static void exception_release(struct wasmaot_exception *e) {
  for (struct wasmaot_exception **p = &all_objects; *p != NULL; p = &(*p)->next) {
    if (*p == e) {
      *p = e->next;
      __atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
      free(e);
      return;
    }
  }
  /* Not on the list: not ours to free (a corrupt pointer would be a runtime
   * bug).  Keeping it is always safe. */
}

/* Ends `e`'s flight at a catch that keeps no exnref: frees it if only the pad
 * names it.  Runs inside an activation (process lock held). */
static void caught_without_ref(struct wasmaot_exception *e) {
  if (only_the_pad_names(e)) exception_release(e);
  else e->referenced &= ~(uint64_t)IN_FLIGHT;
}

/* The unwinder calls this only if a foreign runtime deletes our exception
 * (_Unwind_DeleteException); the same rule as a catch applies. */
static void cleanup_foreign(_Unwind_Reason_Code why, struct _Unwind_Exception *uw) {
  (void)why;
  caught_without_ref((struct wasmaot_exception *)uw);
}

/* --- the collector ---------------------------------------------------------------------
 * The objects, sorted by address, with where each ends, so a word is matched to
 * the object it points into by binary search. */

struct heap_index {
  struct wasmaot_exception **objects; /* sorted by address */
  uintptr_t *ends;                    /* objects[i] + its size: one past its last byte */
  uint8_t *marked;
  size_t *work;                        /* marked, cells not yet scanned */
  size_t n, nwork;
  uintptr_t lowest, highest;          /* objects[0], ends[n - 1]: a quick filter */
};

static int by_address(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)*(struct wasmaot_exception *const *)a;
  uintptr_t y = (uintptr_t)*(struct wasmaot_exception *const *)b;
  return (x > y) - (x < y);
}

static void index_free(struct heap_index *h) {
  free(h->objects);
  free(h->ends);
  free(h->marked);
  free(h->work);
}

/* 0, or -1 if out of memory (then nothing may be collected). */
static int index_build(struct heap_index *h, uint64_t n) {
  *h = (struct heap_index){0};
  if (n == 0 || n > SIZE_MAX / sizeof(uintptr_t)) return -1;
  h->objects = malloc(n * sizeof *h->objects);
  h->ends = malloc(n * sizeof *h->ends);
  h->marked = calloc(n, 1);
  h->work = malloc(n * sizeof *h->work);
  if (!h->objects || !h->ends || !h->marked || !h->work) {
    index_free(h);
    return -1;
  }
  for (struct wasmaot_exception *e = all_objects; e != NULL && h->n < n; e = e->next)
    h->objects[h->n++] = e;
  if (h->n != n) { /* the count and the list disagree: a runtime bug; keep all */
    index_free(h);
    return -1;
  }
  qsort(h->objects, h->n, sizeof *h->objects, by_address);
  for (size_t i = 0; i < h->n; i++)
    h->ends[i] = (uintptr_t)h->objects[i] + (uintptr_t)object_size(h->objects[i]->num_values);
  h->lowest = (uintptr_t)h->objects[0];
  h->highest = h->ends[h->n - 1];
  return 0;
}

static void mark_index(struct heap_index *h, size_t i) {
  if (h->marked[i]) return;
  h->marked[i] = 1;
  h->work[h->nwork++] = i; /* each object enters once: work has room for all */
}

/* Marks the object `word` points into or just past, if any. */
static void mark_word(uintptr_t word, void *ctx) {
  struct heap_index *h = ctx;
  if (word < h->lowest || word > h->highest) return;
  size_t lo = 0, hi = h->n; /* the last object starting at or below word */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if ((uintptr_t)h->objects[mid] <= word) lo = mid;
    else hi = mid;
  }
  if ((uintptr_t)h->objects[lo] <= word && word <= h->ends[lo]) mark_index(h, lo);
}

/* Every word of [lo, hi), read as a possible pointer. */
static void mark_range(struct heap_index *h, uintptr_t lo, uintptr_t hi) {
  lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
  for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t))
    mark_word(*(const volatile uintptr_t *)p, h);
}

/* Marks what the marked objects' payload cells name, transitively.  Every
 * word of every cell, whatever the tag's types say: a v128 or i64 that looks
 * like a pointer keeps an object, which is only ever safe. */
static void mark_transitively(struct heap_index *h) {
  while (h->nwork > 0) {
    struct wasmaot_exception *e = h->objects[h->work[--h->nwork]];
    uintptr_t cells = (uintptr_t)WASMAOT_EXCEPTION_VALUES(e);
    mark_range(h, cells, cells + e->num_values * sizeof(union wasmaot_value));
  }
}

/* Frees every object the roots do not reach; returns how many survive, or
 * UINT64_MAX if it could not collect (then it freed nothing).  stack_lo: the
 * lowest address of the caller's frames, registers already spilled above it. */
static uint64_t collect(uintptr_t stack_lo) {
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  /* Only from wasm code in an activation (the innermost, not in a host
   * callback): then the stack from here to the outermost activation's entry
   * holds every frame wasm runs in on this thread. */
  if (t->activation == NULL || t->activation->in_host) return UINT64_MAX;
  struct wasmaot_rt_activation *outermost = t->activation;
  while (outermost->prev != NULL) outermost = outermost->prev;
  uintptr_t stack_hi = outermost->entry_fp;
  /* The range must be this thread's stack as the runtime knows it: wasm
   * entered on a stack of the embedder's own (a coroutine) would leave frames
   * outside it unscanned, so collect nothing. */
  if (!t->stack_known || stack_lo >= stack_hi || stack_lo < t->stack_lo ||
      stack_hi > t->stack_hi)
    return UINT64_MAX;

  uint64_t n = __atomic_load_n(&live_count, __ATOMIC_RELAXED);
  struct heap_index h;
  if (index_build(&h, n) != 0) return UINT64_MAX;
  uint64_t root_words = 0;
  if (wasmaot_rt_roots_each_word(mark_word, &h, &root_words) != 0) { /* a holder was lost */
    index_free(&h);
    return UINT64_MAX;
  }
  for (size_t i = 0; i < h.n; i++) {
    const struct wasmaot_exception *e = h.objects[i];
    /* Never handed out (the exact rule's), in flight, or pinned by the embedder. */
    if ((e->referenced & HANDED_OUT) == 0 || (e->referenced & IN_FLIGHT) ||
        __atomic_load_n(&e->pins, __ATOMIC_ACQUIRE) != 0)
      mark_index(&h, i);
  }
  for (struct wasmaot_rt_activation *a = t->activation; a != NULL; a = a->prev) {
    mark_word((uintptr_t)a->host_exception, &h);
    if (a->trap != NULL) mark_word((uintptr_t)a->trap->exception, &h);
  }
  mark_range(&h, stack_lo, stack_hi);
  mark_transitively(&h);

  uint64_t survivors = 0;
  for (struct wasmaot_exception **p = &all_objects; *p != NULL;) {
    struct wasmaot_exception *e = *p;
    size_t lo = 0, hi = h.n; /* its index: the list and the index hold the same objects */
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      if ((uintptr_t)h.objects[mid] <= (uintptr_t)e) lo = mid;
      else hi = mid;
    }
    if (h.objects[lo] != e || h.marked[lo]) { /* reached (or unknown: keep) */
      survivors++;
      p = &e->next;
      continue;
    }
    *p = e->next;
    __atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
    free(e);
  }
  index_free(&h);
  uint64_t budget = survivors > GC_MIN_BUDGET ? survivors : GC_MIN_BUDGET;
  uint64_t stack_words = (stack_hi - stack_lo) / sizeof(uintptr_t);
  uint64_t scan_cost = (root_words + stack_words) / 16;
  if (scan_cost > budget) budget = scan_cost;
  collect_above = survivors + budget;
  return survivors;
}

/* collect() with every callee-saved register spilled into this frame, which is
 * above collect's: a value wasm keeps only in a register is seen on the stack.
 * noinline: the spill must be in a frame of its own, below wasm's. */
static __attribute__((noinline)) uint64_t collect_with_registers_spilled(void) {
  __builtin_unwind_init(); /* every callee-saved register to this frame */
  jmp_buf registers;       /* and once more, in case the builtin saved fewer */
  if (setjmp(registers) != 0) return UINT64_MAX; /* never longjmp'd to */
  volatile uintptr_t here = 0;
  uint64_t survivors = collect((uintptr_t)&here < (uintptr_t)&registers
                                   ? (uintptr_t)&here : (uintptr_t)&registers);
  __asm__ volatile("" : : "r"(&registers) : "memory"); /* keep the buffer live */
  return survivors;
}

static int stress_mode(void) {
  if (gc_stress < 0) {
    const char *v = getenv("WASMAOT_EXN_GC_STRESS");
    gc_stress = v != NULL && v[0] == '1';
  }
  return gc_stress;
}

struct wasmaot_exception *wasmaot_rt_exception_new(struct wasmaot_vmctx *vmctx, int32_t tagidx) {
  /* Called by wasm code in an activation: the process lock is held. */
  if (stress_mode() || __atomic_load_n(&live_count, __ATOMIC_RELAXED) >= collect_above) {
    if (collect_with_registers_spilled() == UINT64_MAX) /* could not: try again later */
      collect_above = __atomic_load_n(&live_count, __ATOMIC_RELAXED) * 2 + GC_MIN_BUDGET;
  }
  /* tagidx is a validated tag index of the calling module (a constant in its code). */
  struct wasmaot_tag *tag = vmctx->tags[(uint32_t)tagidx];
  struct wasmaot_exception *e = exception_alloc(tag);
  if (e == NULL && object_size(tag->num_values) != 0 &&
      collect_with_registers_spilled() != UINT64_MAX)
    e = exception_alloc(tag); /* the collection may have freed enough */
  if (e == NULL) {
    fprintf(stderr, "wasmaot runtime: out of memory allocating a wasm exception\n");
    abort();
  }
  return e;
}

void wasmaot_rt_exception_free(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn) {
  (void)vmctx;
  caught_without_ref(exn);
}

/* Handed out: from now on only the collector frees it. */
static void hand_out(struct wasmaot_exception *e) {
  e->referenced = HANDED_OUT;
}

/* --- the embedder's holds ------------------------------------------------------------
 * The embedder keeps exceptions where the collector cannot look (a Python
 * object, a C variable): each such reference holds a pin, released when it is
 * dropped.  A pin taken for a pointer the embedder read itself must be taken
 * while the object is still named where the collector looks: the load
 * functions read and pin under the process lock, so no collection runs
 * between the two. */

void wasmaot_exception_pin(struct wasmaot_exception *exn) {
  if (exn != NULL) __atomic_add_fetch(&exn->pins, 1, __ATOMIC_ACQ_REL);
}

void wasmaot_exception_unpin(struct wasmaot_exception *exn) {
  /* A pin released twice would let the collector free an object the embedder
   * still names: refuse to go below zero (an embedder bug; the object stays). */
  if (exn == NULL) return;
  uint64_t pins = __atomic_load_n(&exn->pins, __ATOMIC_ACQUIRE);
  while (pins != 0 && !__atomic_compare_exchange_n(&exn->pins, &pins, pins - 1, 1,
                                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
  }
}

struct wasmaot_exception *wasmaot_exception_load(void *const *cell) {
  wasmaot_rt_lock();
  struct wasmaot_exception *e = *cell;
  wasmaot_exception_pin(e);
  wasmaot_rt_unlock();
  return e;
}

struct wasmaot_exception *wasmaot_exception_load_element(struct wasmaot_table *table,
                                                         uint64_t index) {
  wasmaot_rt_lock();
  /* Checked under the lock: the element array moves when the table grows. */
  struct wasmaot_exception *e = index < table->size ? table->elems[index] : NULL;
  wasmaot_exception_pin(e);
  wasmaot_rt_unlock();
  return e;
}

void wasmaot_rt_exception_hand_out(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn) {
  (void)vmctx;
  /* An entry thunk's exnref result: the embedder's results array is memory the
   * collector cannot see, so the pin goes with it (the embedder releases it). */
  if (exn == NULL) return;
  exn->referenced |= HANDED_OUT;
  wasmaot_exception_pin(exn);
}

struct wasmaot_exception *wasmaot_exception_new(struct wasmaot_tag *tag,
                                                const union wasmaot_value *values) {
  wasmaot_rt_lock(); /* the list; the embedder may call from any thread */
  struct wasmaot_exception *e = exception_alloc(tag);
  if (e != NULL) {
    hand_out(e);
    e->pins = 1; /* the caller's */
    if (values != NULL && e->num_values > 0)
      memcpy(WASMAOT_EXCEPTION_VALUES(e), values, e->num_values * sizeof *values);
  }
  wasmaot_rt_unlock();
  return e;
}

union wasmaot_value *wasmaot_exception_values(struct wasmaot_exception *exn) {
  return WASMAOT_EXCEPTION_VALUES(exn);
}

struct wasmaot_tag *wasmaot_tag_new(uint64_t type_id, uint64_t num_values) {
  struct wasmaot_tag *tag = malloc(sizeof *tag);
  if (tag != NULL) *tag = (struct wasmaot_tag){type_id, num_values};
  return tag;
}

void wasmaot_tag_free(struct wasmaot_tag *tag) {
  free(tag);
}

/* --- throwing ------------------------------------------------------------------------- */

/* Called by the unwinder before each frame's personality.  It records the
 * frame's return address for a backtrace, and refuses to go past the
 * activation: the entry thunk's pad always catches, so reaching a frame
 * beyond it (or the end of the stack) means wasm was entered without an entry
 * thunk, and unwinding further would run host frames' cleanups.  A runtime
 * bug, never a guest's: abort. */
static _Unwind_Reason_Code stop_at_activation(int version, _Unwind_Action actions,
                                              uint64_t exception_class,
                                              struct _Unwind_Exception *uw,
                                              struct _Unwind_Context *ctx, void *param) {
  (void)version, (void)exception_class, (void)uw, (void)param;
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  struct wasmaot_rt_activation *act = t->activation;
  if ((actions & _UA_END_OF_STACK) || act == NULL || _Unwind_GetCFA(ctx) >= act->entry_fp) {
    fprintf(stderr, "wasmaot runtime: a wasm exception left its activation without being "
                    "caught by an entry thunk\n");
    abort();
  }
  /* A `resume` starts a new walk at the resuming frame: record each frame once
   * (frames only get older: their CFAs grow). */
  uintptr_t cfa = _Unwind_GetCFA(ctx);
  if (cfa > act->throw_cfa) {
    if (act->throw_npcs < WASMAOT_RT_THROW_PCS) act->throw_pcs[act->throw_npcs] = _Unwind_GetIP(ctx);
    act->throw_npcs++;
    act->throw_cfa = cfa;
  }
  return _URC_NO_REASON;
}

void wasmaot_rt_throw(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn) {
  if (exn == NULL) /* throw_ref of a null exnref */
    wasmaot_rt_trap_at(WASMAOT_TRAP_NULL_REFERENCE, 0, (uintptr_t)__builtin_frame_address(0));
  (void)vmctx;
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  if (t->activation == NULL || t->activation->in_host) {
    fprintf(stderr, "wasmaot runtime: wasm exception thrown outside wasmaot_invoke\n");
    abort();
  }
  t->activation->throw_npcs = 0;
  t->activation->throw_cfa = 0;
  /* In flight: only the unwinder and then a pad name it, which the collector
   * cannot see reliably; a handler that takes it clears the bit. */
  exn->referenced |= IN_FLIGHT;
  _Unwind_Reason_Code rc = _Unwind_ForcedUnwind((struct _Unwind_Exception *)exn,
                                                stop_at_activation, NULL);
  fprintf(stderr, "wasmaot runtime: unwinding a wasm exception failed (%d)\n", (int)rc);
  abort();
}

/* Called by an entry thunk's landing pad (inside the activation: its frame
 * is below the activation's entry, so the siglongjmp is as sound as a trap's). */
void wasmaot_rt_exception_escaped(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn) {
  (void)vmctx;
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  struct wasmaot_rt_activation *act = t->activation;
  if (act == NULL || act->in_host) {
    fprintf(stderr, "wasmaot runtime: a wasm exception escaped outside wasmaot_invoke\n");
    abort();
  }
  /* The embedder gets it in trap->exception, memory the collector cannot
   * see: pinned for it (the embedder releases the pin), and no catch may free
   * it when it is thrown again. */
  hand_out(exn);
  wasmaot_exception_pin(exn);
  struct wasmaot_trap_info *ti = act->trap;
  ti->code = WASMAOT_TRAP_EXCEPTION;
  ti->message = wasmaot_trap_message(WASMAOT_TRAP_EXCEPTION);
  ti->exception = exn;
  ti->nframes = 0;
  ti->total_frames = 0;
  uint64_t n = act->throw_npcs < WASMAOT_RT_THROW_PCS ? act->throw_npcs : WASMAOT_RT_THROW_PCS;
  for (uint64_t i = 0; i < n; i++) {
    const struct wasmaot_module_desc *desc;
    uint64_t func;
    /* - 1: inside the call instruction, not after it (see trap.c). */
    if (!wasmaot_rt_registry_lookup_code(act->throw_pcs[i] - 1, &desc, &func)) continue;
    if (ti->nframes < WASMAOT_TRAP_MAX_FRAMES)
      ti->frames[ti->nframes++] = (struct wasmaot_frame){desc, func};
    ti->total_frames++;
  }
  /* Frames past the recorded ones are counted, not named (most are wasm). */
  if (act->throw_npcs > n) ti->total_frames += act->throw_npcs - n;
  siglongjmp(act->jmp, 1);
}

int wasmaot_host_throw(struct wasmaot_exception *exn) {
  struct wasmaot_rt_activation *act = wasmaot_rt_thread_state.activation;
  if (exn == NULL || act == NULL || !act->in_host) return -1;
  /* The host may keep it after the throw: no catch may free it.  Until the
   * callback returns, act->host_exception is a root of the collector. */
  exn->referenced |= HANDED_OUT;
  act->host_exception = exn;
  return 0;
}

/* --- the personality -------------------------------------------------------------------
 * Reads the LSDA LLVM writes into .gcc_except_table for a function with landing
 * pads: a header, then the call-site table, sorted by start, each entry
 * (start, length, landing pad, action), relative to the function's start. The
 * LSDA is our compiler's output, not the guest's, so an encoding we do not
 * know is a toolchain change to notice (abort), not to guess at. */

enum {
  DW_EH_PE_absptr = 0x00,
  DW_EH_PE_uleb128 = 0x01,
  DW_EH_PE_udata2 = 0x02,
  DW_EH_PE_udata4 = 0x03,
  DW_EH_PE_udata8 = 0x04,
  DW_EH_PE_sdata4 = 0x0b,
  DW_EH_PE_sdata8 = 0x0c,
  DW_EH_PE_pcrel = 0x10,
  DW_EH_PE_indirect = 0x80,
  DW_EH_PE_omit = 0xff,
};

static uint64_t read_uleb128(const uint8_t **p) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    b = *(*p)++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  return v;
}

static uintptr_t read_encoded(const uint8_t **p, uint8_t encoding) {
  const uint8_t *start = *p;
  uintptr_t v;
  switch (encoding & 0x0f) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8: memcpy(&v, *p, 8); *p += 8; break;
    case DW_EH_PE_uleb128: v = (uintptr_t)read_uleb128(p); break;
    case DW_EH_PE_udata2: { uint16_t u; memcpy(&u, *p, 2); *p += 2; v = u; break; }
    case DW_EH_PE_udata4: { uint32_t u; memcpy(&u, *p, 4); *p += 4; v = u; break; }
    case DW_EH_PE_sdata4: { int32_t s; memcpy(&s, *p, 4); *p += 4; v = (uintptr_t)(intptr_t)s; break; }
    default:
      fprintf(stderr, "wasmaot personality: unknown LSDA encoding 0x%x\n", encoding);
      abort();
  }
  if ((encoding & 0x70) == DW_EH_PE_pcrel) v += (uintptr_t)start;
  if (encoding & DW_EH_PE_indirect) memcpy(&v, (const void *)v, sizeof v);
  return v;
}

WASMAOT_RT_API _Unwind_Reason_Code wasmaot_personality(int version, _Unwind_Action actions,
                                        uint64_t exception_class, struct _Unwind_Exception *uw,
                                        struct _Unwind_Context *ctx) {
  if (version != 1) return _URC_FATAL_PHASE1_ERROR;
  /* Only our own: a C++ exception never crosses wasm frames (host code catches
   * its own before returning to wasm). */
  if (exception_class != WASMAOT_EXCEPTION_CLASS) return _URC_CONTINUE_UNWIND;
  const uint8_t *p = _Unwind_GetLanguageSpecificData(ctx);
  if (p == NULL) return _URC_CONTINUE_UNWIND;
  int before = 0;
  uintptr_t ip = _Unwind_GetIPInfo(ctx, &before);
  if (!before) ip--; /* a return address: look up the call instruction itself */
  uintptr_t func = _Unwind_GetRegionStart(ctx);

  uint8_t lpstart_encoding = *p++;
  uintptr_t lpstart = lpstart_encoding == DW_EH_PE_omit ? func : read_encoded(&p, lpstart_encoding);
  uint8_t ttype_encoding = *p++;
  if (ttype_encoding != DW_EH_PE_omit) (void)read_uleb128(&p); /* type table: unused */
  uint8_t cs_encoding = *p++;
  uint64_t cs_length = read_uleb128(&p);
  const uint8_t *end = p + cs_length;
  while (p < end) {
    uintptr_t start = read_encoded(&p, cs_encoding);
    uintptr_t length = read_encoded(&p, cs_encoding);
    uintptr_t pad = read_encoded(&p, cs_encoding);
    (void)read_uleb128(&p); /* action: the pad's own code tests tags */
    if (ip < func + start) break; /* sorted: no entry covers ip */
    if (ip >= func + start + length) continue;
    if (pad == 0) return _URC_CONTINUE_UNWIND; /* a call outside every try region */
    /* Phase 1 (only if someone raises our class two-phase): a pad is a handler. */
    if (actions & _UA_SEARCH_PHASE) return _URC_HANDLER_FOUND;
    _Unwind_SetGR(ctx, __builtin_eh_return_data_regno(0), (uintptr_t)uw);
    _Unwind_SetGR(ctx, __builtin_eh_return_data_regno(1), 0);
    _Unwind_SetIP(ctx, lpstart + pad);
    return _URC_INSTALL_CONTEXT;
  }
  return _URC_CONTINUE_UNWIND;
}
