/* fd_readdir: directory listings with cookies that survive partial reads.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-fd_readdirfd-fd-buf-pointeru8-buf_len-size-cookie-dircookie---resultsize-errno
 *
 * A cookie is the index of the next entry: "." is entry 0 (d_next 1), ".." is
 * entry 1 (d_next 2), then the host's entries in the host's order (d_next
 * 3, 4, ...), as wasmtime numbers them.  The guest pages through by passing
 * the d_next of the last entry it consumed; an entry cut off by the end of the
 * buffer is simply asked for again (wasi-libc does so, growing its buffer if
 * one entry does not fit).
 *
 * A listing is snapshotted when a guest starts one (cookie 0, or the first
 * call on this fd) and kept with the fd, so later cookies index the same
 * list even if the directory changes meanwhile, and paging through N entries
 * costs O(N) rather than re-reading the directory per call.
 */
#include "wasi_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "../sandbox/sandbox.h"

static void snapshot_free(struct wasi_dir_snapshot *s) {
  if (s == NULL) return;
  free(s->entries);
  free(s->names);
  free(s);
}

static uint8_t dirent_type(int dirfd, const struct dirent *d) {
  switch (d->d_type) {
  case DT_REG: return WASMAOT_WASI_FILETYPE_REGULAR_FILE;
  case DT_DIR: return WASMAOT_WASI_FILETYPE_DIRECTORY;
  case DT_LNK: return WASMAOT_WASI_FILETYPE_SYMBOLIC_LINK;
  case DT_CHR: return WASMAOT_WASI_FILETYPE_CHARACTER_DEVICE;
  case DT_BLK: return WASMAOT_WASI_FILETYPE_BLOCK_DEVICE;
  case DT_SOCK: return WASMAOT_WASI_FILETYPE_SOCKET_STREAM;
  case DT_UNKNOWN: {
    /* Some file systems do not say: ask, without following (one name inside
     * the directory, never ".."). */
    struct stat st;
    if (fstatat_unchecked(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return WASMAOT_WASI_FILETYPE_UNKNOWN;
    return wasi_filetype_of_mode(st.st_mode);
  }
  default: return WASMAOT_WASI_FILETYPE_UNKNOWN; /* FIFOs */
  }
}

/* Reads the whole directory of `e` into a new snapshot: 0 or an errno. */
static int32_t snapshot_take(struct wasi_fd *e, struct wasi_dir_snapshot **out) {
  struct stat self;
  if (fstat(e->host, &self) < 0) return wasi_errno_from_host(errno);
  int fd = sandbox_reopen_dir(e->host); /* our own offset; O_PATH handles cannot be read */
  if (fd < 0) return wasi_errno_from_neg(fd);
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    int32_t err = wasi_errno_from_host(errno);
    close_unchecked(fd);
    return err;
  }
  struct wasi_dir_snapshot *s = calloc(1, sizeof *s);
  size_t cap = 0, names_len = 0, names_cap = 0;
  int32_t err = s ? 0 : E(NOMEM);
  /* "." and ".." come first; both report the directory's own inode (as
   * wasmtime: the parent of a grant's root is not the guest's business). */
  const char *dots[2] = {".", ".."};
  for (int i = 0; err == 0; i++) {
    const char *name;
    uint8_t type;
    uint64_t ino;
    if (i < 2) {
      name = dots[i];
      type = WASMAOT_WASI_FILETYPE_DIRECTORY;
      ino = (uint64_t)self.st_ino;
    } else {
      errno = 0;
      struct dirent *de = readdir(d);
      if (de == NULL) {
        if (errno) err = wasi_errno_from_host(errno);
        break;
      }
      if (sandbox_is_dot(de->d_name) || sandbox_is_dotdot(de->d_name)) continue;
      name = de->d_name;
      type = dirent_type(dirfd(d), de);
      ino = (uint64_t)de->d_ino;
    }
    size_t n = strlen(name);
    if (s->count == cap) {
      cap = cap ? 2 * cap : 64;
      void *p = realloc(s->entries, cap * sizeof *s->entries);
      if (p == NULL) {
        err = E(NOMEM);
        break;
      }
      s->entries = p;
    }
    if (names_len + n > names_cap) {
      names_cap = names_cap ? 2 * names_cap : 1024;
      while (names_len + n > names_cap) names_cap *= 2;
      void *p = realloc(s->names, names_cap);
      if (p == NULL) {
        err = E(NOMEM);
        break;
      }
      s->names = p;
    }
    memcpy(s->names + names_len, name, n);
    s->entries[s->count].ino = ino;
    s->entries[s->count].namelen = (uint32_t)n;
    s->entries[s->count].type = type;
    s->entries[s->count].name = names_len;
    names_len += n;
    s->count++;
  }
  closedir(d); /* closes fd */
  if (err) {
    snapshot_free(s);
    return err;
  }
  *out = s;
  return 0;
}

/* fd_readdir(fd: fd, buf: pointer<u8>, buf_len: size, cookie: dircookie) -> (bufused: size)
 * Fills buf with entries from index `cookie` on, each a 24-byte dirent
 * (d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20) followed by
 * its name (no NUL).  The last entry is cut off where the buffer ends; bufused
 * == buf_len means "maybe more": call again with the d_next of the last whole
 * entry.  bufused < buf_len means the listing ended.
 *   BADF  not a directory.  NOTCAPABLE  no FD_READDIR.  FAULT  bad buffer or
 *   bufused_ptr (nothing written).  A cookie past the end gives 0 bytes. */
int32_t wasmaot_wasi_fd_readdir(struct wasmaot_vmctx *vmctx, int32_t fd, int32_t buf,
                                int32_t buf_len, int64_t cookie, int32_t bufused_ptr) {
  struct wasi_fd *e;
  int32_t err = wasi_fd_get(fd, WASI_KIND(WASI_KIND_DIR), R(FD_READDIR), &e);
  if (err) return err;
  uint8_t *out = wasi_guest_range(vmctx, (uint32_t)buf, (uint32_t)buf_len);
  if (out == NULL || wasi_guest_range(vmctx, (uint32_t)bufused_ptr, 4) == NULL) return E(FAULT);
  if (cookie == 0 || e->dir == NULL) {
    struct wasi_dir_snapshot *s;
    err = snapshot_take(e, &s);
    if (err) return err;
    snapshot_free(e->dir);
    e->dir = s;
  }
  const struct wasi_dir_snapshot *s = e->dir;
  uint64_t cap = (uint32_t)buf_len, used = 0;
  for (uint64_t i = (uint64_t)cookie; i < s->count && used < cap; i++) {
    const struct wasi_dir_entry *de = &s->entries[i];
    uint8_t head[WASMAOT_WASI_DIRENT_SIZE];
    memset(head, 0, sizeof head);
    wasi_put_u64(head + 0, i + 1);
    wasi_put_u64(head + 8, de->ino);
    wasi_put_u32(head + 16, de->namelen);
    head[20] = de->type;
    uint64_t n = cap - used < sizeof head ? cap - used : sizeof head;
    memcpy(out + used, head, n);
    used += n;
    n = cap - used < de->namelen ? cap - used : de->namelen;
    memcpy(out + used, s->names + de->name, n);
    used += n;
  }
  wasi_store_u32(vmctx, (uint32_t)bufused_ptr, (uint32_t)used);
  return 0;
}
