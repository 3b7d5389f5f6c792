/* Test harness for the WASI layer and the sandbox, linked with their sources
 * into one shared object (wasic_harness.py builds it): a fake instance whose
 * memory 0 is surrounded by inaccessible guard regions, so a WASI function
 * that touched host memory outside the guest's would crash the test, plus
 * windows onto the hidden sandbox functions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasmaot_rt.h"
#include "wasmaot_wasi.h"
#include "../../runtime_c/sandbox/sandbox.h"
#include "../../runtime_c/wasi/wasi_internal.h"

#define API __attribute__((visibility("default")))
#define GUARD (1u << 20)

struct harness {
  struct wasmaot_vmctx vmctx;
  struct wasmaot_memory mem;
  struct wasmaot_memory *mems[1];
  uint8_t *map;
  size_t maplen;
};

/* A vmctx with one memory of `size` bytes (a multiple of 64 KiB), or with no
 * memory at all if size is 0. */
API struct harness *harness_new(uint64_t size) {
  struct harness *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  if (size == 0) return h; /* vmctx.memories == NULL */
  h->maplen = size + 2 * GUARD;
  h->map = mmap(NULL, h->maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (h->map == MAP_FAILED || mprotect(h->map + GUARD, size, PROT_READ | PROT_WRITE) != 0) {
    free(h);
    return NULL;
  }
  h->mem.base = h->map + GUARD;
  h->mem.size = size;
  h->mem.pages = size >> 16;
  h->mem.max_pages = size >> 16;
  h->mem.page_size_log2 = 16;
  h->mems[0] = &h->mem;
  h->vmctx.memories = h->mems;
  return h;
}

API struct wasmaot_vmctx *harness_vmctx(struct harness *h) { return &h->vmctx; }
API uint8_t *harness_base(struct harness *h) { return h->mem.base; }

API void harness_free(struct harness *h) {
  if (h->map) munmap(h->map, h->maplen);
  free(h);
}

/* Which resolver answered so far: out[0] openat2, out[1] manual. */
API void harness_sandbox_stats(uint64_t out[2]) {
  struct sandbox_stats s;
  sandbox_get_stats(&s);
  out[0] = s.openat2;
  out[1] = s.manual;
}

API int harness_sandbox_open(int start, const char *path, int flags, int mode) {
  return sandbox_open(start, path, flags, (mode_t)mode);
}

API int harness_fd_is_beneath(int start, int fd) { return sandbox_fd_is_beneath(start, fd); }
API void harness_paranoid_check(int start, int fd) { sandbox_paranoid_check(start, fd, "test"); }

/* The host fd behind guest fd `fd`, or -1. */
API int harness_host_fd(int32_t fd) {
  struct wasi_fd *e;
  return wasi_fd_get(fd, WASI_KINDS_ANY, 0, &e) ? -1 : e->host;
}

/* 1 if built with each switch. */
API int harness_paranoid(void) {
#ifdef WASMAOT_RT_PARANOID
  return 1;
#else
  return 0;
#endif
}
API int harness_force_fallback(void) {
#ifdef WASMAOT_RT_SANDBOX_FORCE_FALLBACK
  return 1;
#else
  return 0;
#endif
}
