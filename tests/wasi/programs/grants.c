/* Prints what the guest was granted with every byte visible (hex), through the
 * raw WASI calls so that no libc processing stands between: one line
 * `env HEX` per environment entry, in order, then one line `dir NAME PROBE`
 * per preopen (fd 3 upwards), where PROBE is the hex of the file `probe` in
 * that directory (or `errno N`).  tests/wasi/test_grant_bytes.py reads it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

static void hex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static void probe(__wasi_fd_t dir) {
  __wasi_fd_t fd;
  __wasi_errno_t err = __wasi_path_open(dir, 0, "probe", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  if (err != 0) {
    printf("errno %d", err);
    return;
  }
  uint8_t buf[4096];
  __wasi_size_t n = 0;
  __wasi_iovec_t iov = {buf, sizeof buf};
  err = __wasi_fd_read(fd, &iov, 1, &n);
  if (err != 0)
    printf("read errno %d", err);
  else
    hex(buf, n);
  if (__wasi_fd_close(fd) != 0) printf(" close failed");
}

int main(void) {
  __wasi_size_t count, size;
  if (__wasi_environ_sizes_get(&count, &size) != 0) return 2;
  uint8_t **env = malloc((count + 1) * sizeof *env);
  uint8_t *buf = malloc(size + 1);
  if (env == NULL || buf == NULL || __wasi_environ_get(env, buf) != 0) return 2;
  for (__wasi_size_t i = 0; i < count; i++) {
    printf("env ");
    hex(env[i], strlen((const char *)env[i]));
    printf("\n");
  }
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t err = __wasi_fd_prestat_get(fd, &ps);
    if (err == __WASI_ERRNO_BADF) break;
    if (err != 0) {
      printf("fd %u: prestat errno %d\n", (unsigned)fd, err);
      continue;
    }
    size_t len = ps.u.dir.pr_name_len;
    uint8_t *name = malloc(len + 1);
    if (name == NULL || __wasi_fd_prestat_dir_name(fd, name, len) != 0) return 2;
    printf("dir ");
    hex(name, len);
    printf(" ");
    probe(fd);
    printf("\n");
    free(name);
  }
  return 0;
}
