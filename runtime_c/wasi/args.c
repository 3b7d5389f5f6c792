/* args_get, args_sizes_get -- and, sharing the code, environ_get and
 * environ_sizes_get (environ.c): a vector of NUL-terminated strings.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-args_getargv-pointerpointeru8-argv_buf-pointeru8---result-errno
 */
#include "wasi_internal.h"

/* Writes `count` strings: `vec` gets count u32 guest pointers into `buf`,
 * `buf` the strings back to back, each with its NUL.  Both ranges are
 * checked before anything is written. */
WASI_HIDDEN int32_t wasi_strings_get(struct wasmaot_vmctx *vmctx, size_t count,
                                     char *const *strings, uint32_t vec, uint32_t buf) {
  uint64_t total = 0;
  for (size_t i = 0; i < count; i++) total += strlen(strings[i]) + 1;
  uint8_t *v = wasi_guest_range(vmctx, vec, (uint64_t)count * 4);
  uint8_t *b = wasi_guest_range(vmctx, buf, total);
  if (v == NULL || b == NULL) return E(FAULT);
  uint32_t at = buf;
  for (size_t i = 0; i < count; i++) {
    size_t n = strlen(strings[i]) + 1;
    wasi_put_u32(v + 4 * i, at);
    memcpy(b + (at - buf), strings[i], n);
    at += (uint32_t)n;
  }
  return 0;
}

/* Stores the count and the total size (NULs included) of a string vector.
 * Both fit a u32: wasmaot_wasi_init refuses larger ones. */
WASI_HIDDEN int32_t wasi_strings_sizes_get(struct wasmaot_vmctx *vmctx, size_t count,
                                           char *const *strings, uint32_t count_ptr,
                                           uint32_t size_ptr) {
  uint64_t total = 0;
  for (size_t i = 0; i < count; i++) total += strlen(strings[i]) + 1;
  if (wasi_guest_range(vmctx, count_ptr, 4) == NULL || wasi_guest_range(vmctx, size_ptr, 4) == NULL)
    return E(FAULT);
  wasi_store_u32(vmctx, count_ptr, (uint32_t)count);
  wasi_store_u32(vmctx, size_ptr, (uint32_t)total);
  return 0;
}

/* args_get(argv: pointer<pointer<u8>>, argv_buf: pointer<u8>) -> errno
 * Writes the argument pointers at `argv` (argc u32s) and the NUL-terminated
 * arguments at `argv_buf` (args_sizes_get's size in bytes); argv[0] is the
 * program name.
 *   FAULT  either range is outside memory (nothing written). */
int32_t wasmaot_wasi_args_get(struct wasmaot_vmctx *vmctx, int32_t argv, int32_t argv_buf) {
  size_t n;
  char *const *s;
  wasi_args(&n, &s);
  return wasi_strings_get(vmctx, n, s, (uint32_t)argv, (uint32_t)argv_buf);
}

/* args_sizes_get() -> (argc: size, argv_buf_size: size)
 * Stores the argument count (u32 at argc_ptr) and the bytes args_get's
 * argv_buf needs, NULs included (u32 at argv_buf_size_ptr).
 *   FAULT  a result pointer is outside memory (nothing written). */
int32_t wasmaot_wasi_args_sizes_get(struct wasmaot_vmctx *vmctx, int32_t argc_ptr,
                                    int32_t argv_buf_size_ptr) {
  size_t n;
  char *const *s;
  wasi_args(&n, &s);
  return wasi_strings_sizes_get(vmctx, n, s, (uint32_t)argc_ptr, (uint32_t)argv_buf_size_ptr);
}
