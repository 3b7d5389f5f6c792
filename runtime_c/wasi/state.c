/* The process's WASI context: arguments, environment, grants and the fd table.
 *
 * Numbering follows wasmtime (crates/wasi/src/p1.rs, `Descriptors`): 0-2 are
 * stdio, the preopens follow in the order given, then the listen sockets
 * (wasi-libc finds preopens by asking fd_prestat_get from 3 upwards until
 * EBADF, so the sockets come after the directories -- wasmtime's legacy
 * context puts them first, which hides the directories); a new fd reuses the
 * HIGHEST closed number if there is one, else takes one past the highest open
 * number.
 */
#include "wasi_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../sandbox/sandbox.h"

/* Refuse a table beyond this many entries (EMFILE): the host's fd limit
 * normally stops a guest long before. */
#define WASI_MAX_FDS (1u << 20)

WASI_HIDDEN int wasi_listen_ambient(const char *address, char *errbuf, size_t errlen);
WASI_HIDDEN int wasi_listener_check(int fd, char *errbuf, size_t errlen);

static struct {
  int ready;                   /* stdio set up (lazily, or by wasmaot_wasi_init) */
  struct wasi_fd *fds;         /* indexed by guest fd */
  uint8_t *closed;             /* per number: was used and is free again */
  uint32_t cap;
  char **argv;
  size_t argc;
  char **env;
  size_t envc;
  struct wasi_grant *grants;
  size_t ngrants;
  void (*exit_hook)(struct wasmaot_vmctx *, int32_t);
} ctx;

static int grow(uint32_t need) {
  if (need <= ctx.cap) return 0;
  if (need > WASI_MAX_FDS) return -1;
  uint32_t cap = ctx.cap ? ctx.cap : 16;
  while (cap < need) cap *= 2;
  struct wasi_fd *fds = realloc(ctx.fds, cap * sizeof *fds);
  if (fds == NULL) return -1;
  ctx.fds = fds;
  uint8_t *closed = realloc(ctx.closed, cap);
  if (closed == NULL) return -1;
  ctx.closed = closed;
  memset(ctx.fds + ctx.cap, 0, (cap - ctx.cap) * sizeof *fds);
  memset(ctx.closed + ctx.cap, 0, cap - ctx.cap);
  ctx.cap = cap;
  return 0;
}

static int setup_stdio(void) {
  if (grow(3) < 0) return -1;
  static const uint64_t rights[3] = {
      R(FD_READ) | R(POLL_FD_READWRITE) | R(FD_FILESTAT_GET),
      R(FD_WRITE) | R(POLL_FD_READWRITE) | R(FD_FILESTAT_GET),
      R(FD_WRITE) | R(POLL_FD_READWRITE) | R(FD_FILESTAT_GET),
  };
  for (int i = 0; i < 3; i++) {
    struct wasi_fd *e = &ctx.fds[i];
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->kind = WASI_KIND_STDIN + i;
    e->host = i;
    e->rights_base = e->rights_inheriting = rights[i];
  }
  ctx.ready = 1;
  return 0;
}

static int ensure_ready(void) {
  return ctx.ready ? 0 : setup_stdio();
}

int32_t wasi_fd_get(int32_t fd, unsigned kinds, uint64_t rights, struct wasi_fd **out) {
  if (ensure_ready() < 0) return E(NOMEM);
  if (fd < 0 || (uint32_t)fd >= ctx.cap || !ctx.fds[fd].used) return E(BADF);
  struct wasi_fd *e = &ctx.fds[fd];
  if (!(kinds & WASI_KIND(e->kind))) return E(BADF);
  if ((e->rights_base & rights) != rights) return WASI_ERRNO_NO_RIGHT;
  *out = e;
  return 0;
}

int32_t wasi_fd_insert(const struct wasi_fd *entry, uint32_t *fd) {
  if (ensure_ready() < 0) return E(NOMEM);
  uint32_t n = ctx.cap;
  /* The highest closed number, as wasmtime's `free.pop_last()`. */
  for (uint32_t i = ctx.cap; i-- > 0;) {
    if (ctx.closed[i] && !ctx.fds[i].used) {
      n = i;
      break;
    }
  }
  if (n == ctx.cap) {
    /* Else one past the highest open number. */
    n = 0;
    for (uint32_t i = ctx.cap; i-- > 0;) {
      if (ctx.fds[i].used) {
        n = i + 1;
        break;
      }
    }
  }
  if (grow(n + 1) < 0) return n + 1 > WASI_MAX_FDS ? E(MFILE) : E(NOMEM);
  ctx.fds[n] = *entry;
  ctx.fds[n].used = 1;
  ctx.closed[n] = 0;
  *fd = n;
  return 0;
}

void wasi_fd_release(struct wasi_fd *e) {
  /* The host's 0-2 stay open for the process: a guest closing its stdout must
   * not let the next host open() become fd 1. */
  if (e->kind != WASI_KIND_STDIN && e->kind != WASI_KIND_STDOUT && e->kind != WASI_KIND_STDERR &&
      e->host >= 0)
    close_unchecked(e->host);
  if (e->dir != NULL) {
    free(e->dir->entries);
    free(e->dir->names);
    free(e->dir);
  }
  free(e->preopen_name);
  memset(e, 0, sizeof *e);
  e->host = -1;
}

int32_t wasi_fd_remove(int32_t fd) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KINDS_ANY, 0, &e);
  if (err) return err;
  wasi_fd_release(e);
  ctx.closed[fd] = 1;
  return 0;
}

int32_t wasi_fd_renumber(int32_t from, int32_t to) {
  struct wasi_fd *f, *t;
  int32_t err = wasi_fd_get(from, WASI_KINDS_ANY, 0, &f);
  if (err) return err;
  err = wasi_fd_get(to, WASI_KINDS_ANY, 0, &t);
  if (err) return err;
  if (from == to) return 0;
  wasi_fd_release(t);
  *t = *f;
  memset(f, 0, sizeof *f);
  f->host = -1;
  ctx.closed[from] = 1;
  ctx.closed[to] = 0;
  return 0;
}

void wasi_args(size_t *count, char *const **strings) {
  *count = ctx.argc;
  *strings = ctx.argv;
}

void wasi_environ(size_t *count, char *const **strings) {
  *count = ctx.envc;
  *strings = ctx.env;
}

void wasi_call_exit_hook(struct wasmaot_vmctx *vmctx, int32_t code) {
  if (ctx.exit_hook != NULL) ctx.exit_hook(vmctx, code);
}

/* --- init and shutdown -------------------------------------------------------------------- */

static void free_strings(char **v, size_t n) {
  if (v == NULL) return;
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

void wasmaot_wasi_shutdown(void) {
  for (uint32_t i = 0; i < ctx.cap; i++)
    if (ctx.fds[i].used) wasi_fd_release(&ctx.fds[i]);
  free(ctx.fds);
  free(ctx.closed);
  free_strings(ctx.argv, ctx.argc);
  free_strings(ctx.env, ctx.envc);
  free(ctx.grants);
  memset(&ctx, 0, sizeof ctx);
}

/* Copies n strings; their total size (with NULs) must fit a u32, as
 * args_sizes_get / environ_sizes_get report it. */
static int copy_strings(char ***out, const char *const *in, size_t n, const char *what,
                        char *errbuf, size_t errlen) {
  uint64_t total = 0;
  *out = calloc(n ? n : 1, sizeof **out);
  if (*out == NULL) goto nomem;
  for (size_t i = 0; i < n; i++) {
    const char *s = in[i] ? in[i] : "";
    total += strlen(s) + 1;
    if (total > UINT32_MAX || n > UINT32_MAX / 4) {
      snprintf(errbuf, errlen, "WASI %s are larger than 4 GiB", what);
      return -1;
    }
    (*out)[i] = strdup(s);
    if ((*out)[i] == NULL) goto nomem;
  }
  return 0;
nomem:
  snprintf(errbuf, errlen, "out of memory copying the WASI %s", what);
  return -1;
}

static int add_preopen(const struct wasmaot_wasi_preopen *p, struct wasi_grant *grant,
                       char *errbuf, size_t errlen) {
  if (p->host_path == NULL || p->guest_path == NULL) {
    snprintf(errbuf, errlen, "a preopened directory needs a host and a guest path");
    return -1;
  }
  int fd = sandbox_open_dir_ambient(p->host_path);
  if (fd < 0) {
    snprintf(errbuf, errlen, "cannot open directory %s to grant it: %s", p->host_path,
             strerror(-fd));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    snprintf(errbuf, errlen, "cannot stat directory %s: %s", p->host_path, strerror(errno));
    close_unchecked(fd);
    return -1;
  }
  grant->dev = st.st_dev;
  grant->ino = st.st_ino;
  grant->readonly = p->readonly != 0;
  struct wasi_fd e;
  memset(&e, 0, sizeof e);
  e.kind = WASI_KIND_DIR;
  e.host = fd;
  e.grant = grant;
  e.rights_base = WASI_RIGHTS_PREOPEN_BASE;
  e.rights_inheriting = WASI_RIGHTS_PREOPEN_INHERITING;
  if (grant->readonly) {
    /* A read-only grant holds no mutating right, and hands none down --
     * except FD_WRITE in the inheriting set, kept so that wasi-libc (which
     * asks only for what the directory can hand down) still asks for write
     * access when the program opens for writing, and path_open refuses it
     * then, at the open, rather than at the first write. */
    e.rights_base &= ~WASI_RIGHTS_MUTATING;
    e.rights_inheriting = (e.rights_inheriting & ~WASI_RIGHTS_MUTATING) | R(FD_WRITE);
  }
  e.preopen_name = strdup(p->guest_path);
  uint32_t n;
  if (e.preopen_name == NULL || wasi_fd_insert(&e, &n) != 0) {
    free(e.preopen_name);
    close_unchecked(fd);
    snprintf(errbuf, errlen, "out of memory granting %s", p->host_path);
    return -1;
  }
  return 0;
}

static int add_listener(const struct wasmaot_wasi_listen *l, char *errbuf, size_t errlen) {
  int fd;
  if (l->fd >= 0) {
    if (wasi_listener_check(l->fd, errbuf, errlen) < 0) return -1;
    fd = l->fd;
  } else {
    fd = wasi_listen_ambient(l->address ? l->address : "", errbuf, errlen);
    if (fd < 0) return -1;
  }
  struct wasi_fd e;
  memset(&e, 0, sizeof e);
  e.kind = WASI_KIND_LISTENER;
  e.host = fd;
  e.rights_base = e.rights_inheriting =
      R(SOCK_ACCEPT) | R(POLL_FD_READWRITE) | R(FD_FDSTAT_SET_FLAGS) | R(FD_FILESTAT_GET);
  uint32_t n;
  if (wasi_fd_insert(&e, &n) != 0) {
    close_unchecked(fd);
    snprintf(errbuf, errlen, "out of memory granting a listen socket");
    return -1;
  }
  return 0;
}

int wasmaot_wasi_init(const struct wasmaot_wasi_config *config, char *errbuf, size_t errlen) {
  char dummy[1];
  if (errbuf == NULL || errlen == 0) {
    errbuf = dummy;
    errlen = sizeof dummy;
  }
  errbuf[0] = '\0';
  wasmaot_wasi_shutdown();
  /* A write to a closed pipe returns EPIPE instead of killing the process, as
   * under wasmtime (Rust ignores SIGPIPE). */
  signal(SIGPIPE, SIG_IGN);
  if (setup_stdio() < 0) goto nomem;
  if (config == NULL) return 0;
  ctx.exit_hook = config->exit_hook;
  /* Counts first: a failed copy leaves NULLs, which free_strings skips. */
  ctx.argc = config->argc;
  if (copy_strings(&ctx.argv, config->argv, config->argc, "arguments", errbuf, errlen) < 0)
    goto fail;
  ctx.envc = config->envc;
  if (copy_strings(&ctx.env, config->env, config->envc, "environment", errbuf, errlen) < 0)
    goto fail;
  ctx.grants = calloc(config->npreopens ? config->npreopens : 1, sizeof *ctx.grants);
  if (ctx.grants == NULL) goto nomem;
  ctx.ngrants = config->npreopens;
  for (size_t i = 0; i < config->npreopens; i++)
    if (add_preopen(&config->preopens[i], &ctx.grants[i], errbuf, errlen) < 0) goto fail;
  for (size_t i = 0; i < config->nlisten; i++)
    if (add_listener(&config->listen[i], errbuf, errlen) < 0) goto fail;
  return 0;
nomem:
  snprintf(errbuf, errlen, "out of memory setting up WASI");
fail:
  wasmaot_wasi_shutdown();
  return -1;
}
