/* Calls from wasm into the embedder (host functions).
 *
 * An imported host function is a funcref {code = the importing module's host
 * adapter for the import's type, vmctx = the wasmaot_host_func record}.  The
 * adapter stores its arguments in cells and calls wasmaot_rt_host_call, which
 * runs the embedder's callback.  While it runs, the activation is marked
 * `in_host`: a fault then is the host's own (signals.c leaves it alone), and
 * the callback may call wasmaot_invoke again (a nested activation).
 *
 * The callback reports failure by returning nonzero.  The embedder keeps its
 * own error (e.g. the Python exception) aside; we trap HOST, which unwinds the
 * wasm frames to the activation, whose caller finds WASMAOT_TRAP_HOST and
 * re-raises the kept error.  We never unwind *through* the callback's frames.
 *
 * A callback throws a wasm exception by handing it to wasmaot_host_throw and
 * returning WASMAOT_HOST_THROW: once its frames are gone, we throw it from
 * here into the calling wasm code (generated code calls us without
 * `nounwind`).  Exceptions never unwind host frames: one that escapes a
 * nested activation the callback made ends that activation (exception.c),
 * and the callback decides what to do with it.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */

/* Weak: an executable whose module has no exceptions links without exception.c
 * and the unwinder.  Whenever an exception can exist (a module that throws, or
 * an embedder that made one with wasmaot_exception_new) exception.c is linked. */
#pragma weak wasmaot_rt_throw

void wasmaot_rt_host_call(struct wasmaot_host_func *host, union wasmaot_value *args,
                          union wasmaot_value *results) {
  struct wasmaot_rt_activation *act = wasmaot_rt_thread_state.activation;
  if (act == NULL) {
    fprintf(stderr, "wasmaot runtime: host function called outside wasmaot_invoke\n");
    abort();
  }
  act->host_exception = NULL;
  act->in_host++;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  int rc = host->callback(host->data, args, results);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  act->in_host--;
  struct wasmaot_exception *exn = act->host_exception;
  act->host_exception = NULL;
  if (rc == WASMAOT_HOST_THROW && exn != NULL) wasmaot_rt_throw(NULL, exn);
  /* Failure, or THROW without an exception: the embedder's error, a trap. */
  if (rc != 0) wasmaot_rt_trap_at(WASMAOT_TRAP_HOST, 0, (uintptr_t)__builtin_frame_address(0));
}
