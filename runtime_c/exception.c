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
 * Lifetime of exception objects (v1: safe before economical).  An object that
 * was never handed out as an exnref is named only by the unwinder and then by
 * the one landing pad that takes it: `catch`/`catch_all` free it
 * (wasmaot_rt_exception_free).  Once handed out as an exnref (catch_ref,
 * catch_all_ref, a legacy catch, the embedder: `referenced` != 0) it may sit in
 * locals, globals and tables, so it is never freed: freeing an object an exnref
 * still names would be a use-after-free that wasm code could read and write
 * through, a sandbox hole.  Every live object is on its thread's list (`next`)
 * for a later conservative collector, and wasmaot_exceptions_live counts them.
 * A guest that keeps making referenced exceptions grows the process's memory,
 * as one that keeps growing a table does.
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

/* Objects allocated and not freed, all threads. */
static uint64_t live_count;

uint64_t wasmaot_exceptions_live(void) {
  return __atomic_load_n(&live_count, __ATOMIC_RELAXED);
}

/* --- objects -------------------------------------------------------------------------- */

static void cleanup_foreign(_Unwind_Reason_Code why, struct _Unwind_Exception *uw);

/* A new object of `tag`, its cells zeroed, on this thread's list; NULL if out of memory. */
static struct wasmaot_exception *exception_alloc(struct wasmaot_tag *tag) {
  /* num_values comes from a validated type (at most the spec's parameter limit),
   * but the size must not wrap whatever it is: a short object would let pads
   * read and write past it. */
  uint64_t cells, size;
  if (__builtin_mul_overflow(tag->num_values, (uint64_t)sizeof(union wasmaot_value), &cells) ||
      wasmaot_rt_add_overflows(cells, sizeof(struct wasmaot_exception), &size) || size > SIZE_MAX)
    return NULL;
  struct wasmaot_exception *e = aligned_alloc(16, (size_t)size);
  if (e == NULL) return NULL;
  memset(e, 0, (size_t)size);
  e->exception_class = WASMAOT_EXCEPTION_CLASS;
  e->exception_cleanup = (void *)cleanup_foreign;
  e->tag = tag;
  e->num_values = tag->num_values;
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  e->next = t->exceptions;
  t->exceptions = e;
  __atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED);
  return e;
}

/* Unlinks and frees `e` (not referenced).  The object a catch frees is nearly
 * always the newest on the list: unlinking walks only over exceptions in
 * flight, which are newer. */
static void exception_release(struct wasmaot_exception *e) {
  struct wasmaot_rt_thread *t = &wasmaot_rt_thread_state;
  for (struct wasmaot_exception **p = &t->exceptions; *p != NULL; p = &(*p)->next) {
    if (*p == e) {
      *p = e->next;
      __atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED);
      free(e);
      return;
    }
  }
  /* Not on this thread's list: made on another thread, so another thread may
   * still name it.  Keeping it is always safe. */
}

/* The unwinder calls this only if a foreign runtime deletes our exception
 * (_Unwind_DeleteException); the same rule as a catch applies. */
static void cleanup_foreign(_Unwind_Reason_Code why, struct _Unwind_Exception *uw) {
  (void)why;
  struct wasmaot_exception *e = (struct wasmaot_exception *)uw;
  if (e->referenced == 0) exception_release(e);
}

struct wasmaot_exception *wasmaot_rt_exception_new(struct wasmaot_vmctx *vmctx, int32_t tagidx) {
  /* tagidx is a validated tag index of the calling module (a constant in its code). */
  struct wasmaot_exception *e = exception_alloc(vmctx->tags[(uint32_t)tagidx]);
  if (e == NULL) {
    fprintf(stderr, "wasmaot runtime: out of memory allocating a wasm exception\n");
    abort();
  }
  return e;
}

void wasmaot_rt_exception_free(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn) {
  (void)vmctx;
  if (exn->referenced == 0) exception_release(exn);
}

static void mark_referenced(struct wasmaot_exception *e) {
  e->referenced = 1;
}

struct wasmaot_exception *wasmaot_exception_new(struct wasmaot_tag *tag,
                                                const union wasmaot_value *values) {
  struct wasmaot_exception *e = exception_alloc(tag);
  if (e == NULL) return NULL;
  /* The embedder holds it: no catch may free it. */
  mark_referenced(e);
  if (values != NULL && e->num_values > 0)
    memcpy(WASMAOT_EXCEPTION_VALUES(e), values, e->num_values * sizeof *values);
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
  /* The embedder may keep it (and throw it again): no catch may free it now. */
  mark_referenced(exn);
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
  /* The host may keep it after the throw. */
  mark_referenced(exn);
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
