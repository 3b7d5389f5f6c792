/* environ_get, environ_sizes_get: the environment granted to the guest, as
 * "NAME=VALUE" strings (the host's own environment is never read here).
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-environ_getenviron-pointerpointeru8-environ_buf-pointeru8---result-errno
 */
#include "wasi_internal.h"

/* environ_get(environ: pointer<pointer<u8>>, environ_buf: pointer<u8>) -> errno
 * Writes one u32 pointer per variable at `environ` and the NUL-terminated
 * "NAME=VALUE" strings at `environ_buf`.
 *   FAULT  either range is outside memory (nothing written). */
int32_t wasmaot_wasi_environ_get(struct wasmaot_vmctx *vmctx, int32_t environ,
                                 int32_t environ_buf) {
  size_t n;
  char *const *s;
  wasi_environ(&n, &s);
  return wasi_strings_get(vmctx, n, s, (uint32_t)environ, (uint32_t)environ_buf);
}

/* environ_sizes_get() -> (environc: size, environ_buf_size: size)
 * Stores the variable count (u32) and the bytes environ_get's buffer needs.
 *   FAULT  a result pointer is outside memory (nothing written). */
int32_t wasmaot_wasi_environ_sizes_get(struct wasmaot_vmctx *vmctx, int32_t environc_ptr,
                                       int32_t environ_buf_size_ptr) {
  size_t n;
  char *const *s;
  wasi_environ(&n, &s);
  return wasi_strings_sizes_get(vmctx, n, s, (uint32_t)environc_ptr,
                                (uint32_t)environ_buf_size_ptr);
}
