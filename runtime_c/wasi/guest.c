/* Reading structured arguments out of guest memory: iovec arrays and paths.
 * Both go through wasi_guest_range (wasi_internal.h) for every byte.
 */
#include "wasi_internal.h"

#include <limits.h>
#include <stdlib.h>

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

int32_t wasi_iovs_load(struct wasmaot_vmctx *vmctx, uint32_t iovs, uint32_t iovs_len,
                       struct wasi_iovs *out) {
  out->count = 0;
  out->iov = out->small;
  const uint8_t *arr = wasi_guest_range(vmctx, iovs, (uint64_t)iovs_len * WASMAOT_WASI_IOVEC_SIZE);
  if (arr == NULL) return E(FAULT);
  /* The host moves at most IOV_MAX buffers per call; transferring fewer bytes
   * than asked is allowed, so the rest are left for the guest's next call. */
  uint32_t n = iovs_len < IOV_MAX ? iovs_len : IOV_MAX;
  if (n > sizeof out->small / sizeof out->small[0]) {
    out->iov = malloc(n * sizeof *out->iov);
    if (out->iov == NULL) {
      out->iov = out->small;
      return E(NOMEM);
    }
  }
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t buf = wasi_get_u32(arr + i * WASMAOT_WASI_IOVEC_SIZE);
    uint32_t len = wasi_get_u32(arr + i * WASMAOT_WASI_IOVEC_SIZE + 4);
    if (len == 0) continue; /* empty buffers are skipped unchecked, as in wasmtime */
    uint8_t *p = wasi_guest_range(vmctx, buf, len);
    if (p == NULL) {
      wasi_iovs_free(out);
      return E(FAULT);
    }
    /* Buffers may overlap, so their total can exceed memory: cap it so the
     * count returned to the guest (a u32) cannot wrap. */
    if (total + len > UINT32_MAX) len = (uint32_t)(UINT32_MAX - total);
    if (len == 0) break;
    out->iov[out->count].iov_base = p;
    out->iov[out->count].iov_len = len;
    out->count++;
    total += len;
  }
  return 0;
}

void wasi_iovs_free(struct wasi_iovs *v) {
  if (v->iov != v->small) free(v->iov);
  v->iov = v->small;
  v->count = 0;
}

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t extra;
    unsigned min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000, c &= 0x07;
    } else {
      return 0;
    }
    if (n - i - 1 < extra) return 0;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    i += extra + 1;
  }
  return 1;
}

int32_t wasi_path_load(struct wasmaot_vmctx *vmctx, uint32_t ptr, uint32_t len,
                       char out[WASI_PATH_BUF]) {
  const uint8_t *p = wasi_guest_range(vmctx, ptr, len);
  if (p == NULL) return E(FAULT);
  if (len >= WASI_PATH_BUF) return E(NAMETOOLONG);
  memcpy(out, p, len);
  out[len] = '\0';
  if (!valid_utf8((const unsigned char *)out, len)) return E(ILSEQ);
  /* A NUL inside would make the host see a shorter path than the guest gave. */
  if (memchr(out, '\0', len) != NULL) return E(INVAL);
  return 0;
}
