/* random_get: bytes from the OS's cryptographic generator.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-random_getbuf-pointeru8-buf_len-size---result-errno
 */
#include "wasi_internal.h"

#include <errno.h>
#include <sys/random.h>

/* random_get(buf: pointer<u8>, buf_len: size) -> errno
 * Fills buf[0..buf_len) from getrandom(2) (blocking only until the kernel's
 * pool is first initialised, early at boot).
 *   FAULT  the buffer is outside memory (nothing written).
 *   IO     the kernel failed to supply bytes (not expected). */
int32_t wasmaot_wasi_random_get(struct wasmaot_vmctx *vmctx, int32_t buf, int32_t buf_len) {
  uint8_t *p = wasi_guest_range(vmctx, (uint32_t)buf, (uint32_t)buf_len);
  if (p == NULL) return E(FAULT);
  size_t left = (uint32_t)buf_len;
  while (left > 0) {
    /* getrandom returns at most 32 MiB per call; loop for the rest. */
    ssize_t n = getrandom(p, left, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return wasi_errno_from_host(errno);
    }
    p += n;
    left -= (size_t)n;
  }
  return 0;
}
