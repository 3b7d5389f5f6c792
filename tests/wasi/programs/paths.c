/* The path_* functions and the fd_* functions on a file's metadata, called
 * through the raw WASI API (wasi/api.h) in the empty read-write preopen named
 * argv[1].  Every call prints its errno (0 = success) and what it produced,
 * so any difference from wasmtime shows in stdout.  Leaves the directory
 * empty.
 *
 * Two functions print a normalised result, because wasmaot implements what
 * wasmtime answers NOTSUP to (runtime_c/wasi/fd.c): fd_allocate and
 * fd_fdstat_set_rights print "0 or NOTSUP" rather than the errno. */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

/* proc_raise is not in wasi-libc's header any more; the import still is. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
int32_t raw_proc_raise(int32_t sig);

static __wasi_fd_t dir = (__wasi_fd_t)-1;

/* Every right defined (bits 0-29: fd_datasync .. sock_accept); wasmtime
 * traps on undefined bits. */
#define ALL_RIGHTS ((1ull << 30) - 1)

static void say(const char *what, __wasi_errno_t err) { printf("%s: errno %d\n", what, err); }

static __wasi_fd_t open_with(const char *path, __wasi_oflags_t oflags, __wasi_rights_t rights,
                             __wasi_fdflags_t fdflags, __wasi_lookupflags_t lookup) {
  __wasi_fd_t fd = (__wasi_fd_t)-1;
  __wasi_errno_t err =
      __wasi_path_open(dir, lookup, path, oflags, rights, ALL_RIGHTS, fdflags, &fd);
  printf("open %s: errno %d\n", path, err);
  return err == 0 ? fd : (__wasi_fd_t)-1;
}

static __wasi_fd_t open_at(const char *path, __wasi_oflags_t oflags, __wasi_fdflags_t fdflags,
                           __wasi_lookupflags_t lookup) {
  return open_with(path, oflags, ALL_RIGHTS, fdflags, lookup);
}

static void write_str(__wasi_fd_t fd, const char *s) {
  __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
  __wasi_size_t n = 0;
  __wasi_errno_t err = __wasi_fd_write(fd, &iov, 1, &n);
  printf("write \"%s\": errno %d, %u bytes\n", s, err, (unsigned)n);
}

/* The file's whole content, read with fd_pread from offset 0. */
static void show_content(__wasi_fd_t fd) {
  uint8_t buf[64];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_size_t n = 0;
  __wasi_errno_t err = __wasi_fd_pread(fd, &iov, 1, 0, &n);
  printf("content: errno %d, %u bytes [", err, (unsigned)n);
  for (__wasi_size_t i = 0; i < n; i++)
    printf(buf[i] >= 32 && buf[i] < 127 ? "%c" : "\\%o", buf[i]);
  printf("]\n");
}

static void show_tell(__wasi_fd_t fd) {
  __wasi_filesize_t pos = 0;
  __wasi_errno_t err = __wasi_fd_tell(fd, &pos);
  printf("tell: errno %d, %llu\n", err, (unsigned long long)pos);
}

static void show_fdstat(__wasi_fd_t fd) {
  __wasi_fdstat_t st;
  memset(&st, 0, sizeof st);
  __wasi_errno_t err = __wasi_fd_fdstat_get(fd, &st);
  printf("fdstat: errno %d, filetype %d, flags %d\n", err, st.fs_filetype, st.fs_flags);
}

static void show_filestat(const char *what, __wasi_errno_t err, const __wasi_filestat_t *st) {
  printf("%s: errno %d", what, err);
  if (err == 0)
    printf(", filetype %d, nlink %llu, size %llu", st->filetype, (unsigned long long)st->nlink,
           (unsigned long long)st->size);
  printf("\n");
}

static void show_path_stat(const char *path, __wasi_lookupflags_t lookup) {
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  char what[128];
  snprintf(what, sizeof what, "stat %s%s", path, lookup ? " (follow)" : "");
  show_filestat(what, __wasi_path_filestat_get(dir, lookup, path, &st), &st);
}

static void show_readlink(const char *path, size_t cap) {
  uint8_t buf[64];
  __wasi_size_t used = 0;
  __wasi_errno_t err = __wasi_path_readlink(dir, path, buf, cap, &used);
  printf("readlink %s (buffer %zu): errno %d, \"%.*s\"\n", path, cap, err, (int)used, buf);
}

/* Lists the preopens (fd_prestat_get from 3 until BADF) and picks `want`. */
static void find_preopen(const char *want) {
  for (__wasi_fd_t fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t err = __wasi_fd_prestat_get(fd, &ps);
    if (err == __WASI_ERRNO_BADF) {
      printf("prestat %u: errno %d (end of preopens)\n", (unsigned)fd, err);
      break;
    }
    char name[256] = {0};
    size_t len = err == 0 ? ps.u.dir.pr_name_len : 0;
    __wasi_errno_t err2 = len < sizeof name ? __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len)
                                            : __WASI_ERRNO_NAMETOOLONG;
    printf("prestat %u: errno %d, tag %d, name errno %d \"%s\"\n", (unsigned)fd, err, ps.tag,
           err2, name);
    if (err == 0 && err2 == 0 && strcmp(name, want) == 0) dir = fd;
  }
  /* A name buffer shorter than the name. */
  char small[1];
  printf("prestat_dir_name into 0 bytes: errno %d\n",
         __wasi_fd_prestat_dir_name(dir, (uint8_t *)small, 0));
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  find_preopen(argv[1]);
  if (dir == (__wasi_fd_t)-1) {
    printf("no preopen named %s\n", argv[1]);
    return 1;
  }
  say("mkdir d", __wasi_path_create_directory(dir, "d"));
  say("mkdir d again", __wasi_path_create_directory(dir, "d"));
  say("mkdir missing/x", __wasi_path_create_directory(dir, "missing/x"));
  open_at("d/absent", 0, 0, 0);

  /* A file: write, tell, seek. */
  __wasi_fd_t f = open_at("d/f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, 0);
  write_str(f, "hello");
  show_tell(f);
  __wasi_filesize_t pos = 99;
  say("seek to 1", __wasi_fd_seek(f, 1, __WASI_WHENCE_SET, &pos));
  show_tell(f);
  show_fdstat(f);
  open_at("d/f.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0, 0);

  /* APPEND set and cleared with fd_fdstat_set_flags. */
  say("set flags APPEND", __wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_APPEND));
  show_fdstat(f);
  write_str(f, "+");
  show_content(f);
  say("set flags 0", __wasi_fd_fdstat_set_flags(f, 0));
  show_fdstat(f);
  say("seek to 0", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos));
  write_str(f, "J");
  show_content(f);

  /* Size, times, hints, syncs. */
  __wasi_filestat_t st;
  memset(&st, 0, sizeof st);
  show_filestat("fstat", __wasi_fd_filestat_get(f, &st), &st);
  say("set size 3", __wasi_fd_filestat_set_size(f, 3));
  show_content(f);
  say("set size 8", __wasi_fd_filestat_set_size(f, 8));
  show_content(f);
  const __wasi_timestamp_t atim = 1600000000123456789ull, mtim = 1500000000987654321ull;
  say("set times", __wasi_fd_filestat_set_times(f, atim, mtim,
                                                 __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
  memset(&st, 0, sizeof st);
  show_filestat("fstat", __wasi_fd_filestat_get(f, &st), &st);
  printf("atim as set: %s, mtim as set: %s\n", st.atim == atim ? "yes" : "no",
         st.mtim == mtim ? "yes" : "no");
  say("set times ATIM with ATIM_NOW",
      __wasi_fd_filestat_set_times(f, atim, mtim, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
  say("advise sequential", __wasi_fd_advise(f, 0, 8, __WASI_ADVICE_SEQUENTIAL));
  say("advise dontneed", __wasi_fd_advise(f, 0, 0, __WASI_ADVICE_DONTNEED));
  __wasi_errno_t err = __wasi_fd_allocate(f, 0, 4);
  printf("allocate 4 bytes: %s\n",
         err == 0 || err == __WASI_ERRNO_NOTSUP ? "0 or NOTSUP" : "other");
  say("datasync", __wasi_fd_datasync(f));
  say("sync", __wasi_fd_sync(f));
  err = __wasi_fd_fdstat_set_rights(f, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |
                                           __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL, 0);
  printf("narrow rights: %s\n", err == 0 || err == __WASI_ERRNO_NOTSUP ? "0 or NOTSUP" : "other");
  write_str(f, "!");  /* the narrowed rights keep FD_WRITE */

  /* Paths: stat, times, links, symlinks, rename. */
  show_path_stat("d/f.txt", 0);
  show_path_stat("d", 0);
  show_path_stat("d/absent", 0);
  say("path set times", __wasi_path_filestat_set_times(dir, 0, "d/f.txt", 0, mtim + 1,
                                                       __WASI_FSTFLAGS_MTIM));
  memset(&st, 0, sizeof st);
  show_filestat("stat d/f.txt", __wasi_path_filestat_get(dir, 0, "d/f.txt", &st), &st);
  printf("mtim as set: %s, atim kept: %s\n", st.mtim == mtim + 1 ? "yes" : "no",
         st.atim == atim ? "yes" : "no");
  say("link d/f.txt d/hard", __wasi_path_link(dir, 0, "d/f.txt", dir, "d/hard"));
  say("link onto existing", __wasi_path_link(dir, 0, "d/f.txt", dir, "d/hard"));
  show_path_stat("d/hard", 0);
  say("symlink f.txt d/sym", __wasi_path_symlink("f.txt", dir, "d/sym"));
  say("symlink onto existing", __wasi_path_symlink("f.txt", dir, "d/sym"));
  show_readlink("d/sym", 64);
  show_readlink("d/sym", 3);
  show_readlink("d/f.txt", 64);
  show_path_stat("d/sym", 0);
  show_path_stat("d/sym", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  say("symlink dangling", __wasi_path_symlink("nowhere", dir, "d/dangling"));
  show_path_stat("d/dangling", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  open_at("d/sym", 0, 0, 0); /* a final symlink, not followed */
  __wasi_fd_t via = open_at("d/sym", 0, 0, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW);
  show_content(via);
  say("rename d/hard d/renamed", __wasi_path_rename(dir, "d/hard", dir, "d/renamed"));
  show_path_stat("d/hard", 0);
  show_path_stat("d/renamed", 0);
  say("rename missing", __wasi_path_rename(dir, "d/hard", dir, "d/x"));

  /* fd_renumber: `via` takes the place of a second descriptor. */
  __wasi_fd_t other = open_at("d/renamed", 0, 0, 0);
  say("renumber", __wasi_fd_renumber(via, other));
  show_content(other);
  say("close renumbered-from", __wasi_fd_close(via));
  say("renumber to closed", __wasi_fd_renumber(other, via));
  say("close", __wasi_fd_close(other));
  say("close file", __wasi_fd_close(f));
  say("close again", __wasi_fd_close(f));

  /* The wrong kind of fd or path for the call. */
  /* A directory with FD_WRITE is ISDIR, with DIRECTORY or without. */
  open_with("d", __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, 0);
  open_with("d", 0, __WASI_RIGHTS_FD_WRITE, 0, 0);
  __wasi_fd_t d =
      open_with("d", __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS & ~__WASI_RIGHTS_FD_WRITE, 0, 0);
  show_fdstat(d);
  memset(&st, 0, sizeof st);
  show_filestat("fstat d", __wasi_fd_filestat_get(d, &st), &st);
  pos = 0;
  say("seek on a directory", __wasi_fd_seek(d, 0, __WASI_WHENCE_SET, &pos));
  write_str(d, "x");
  say("set size of a directory", __wasi_fd_filestat_set_size(d, 0));
  say("mkdir under a directory fd", __wasi_path_create_directory(d, "sub"));
  say("rmdir under a directory fd", __wasi_path_remove_directory(d, "sub"));
  say("close directory", __wasi_fd_close(d));
  open_at("d/f.txt", __WASI_OFLAGS_DIRECTORY, 0, 0);
  open_at("d/f.txt/x", 0, 0, 0);
  say("mkdir over a file", __wasi_path_create_directory(dir, "d/f.txt"));
  say("rename a file over a directory", __wasi_path_rename(dir, "d/f.txt", dir, "d"));
  say("seek on stdout", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
  say("path_create_directory on stdout", __wasi_path_create_directory(1, "x"));
  say("prestat of stdout", __wasi_fd_prestat_get(1, &(__wasi_prestat_t){0}));

  /* Removal. */
  say("rmdir d (not empty)", __wasi_path_remove_directory(dir, "d"));
  say("unlink d (a directory)", __wasi_path_unlink_file(dir, "d"));
  say("rmdir d/f.txt (a file)", __wasi_path_remove_directory(dir, "d/f.txt"));
  say("unlink d/sym", __wasi_path_unlink_file(dir, "d/sym"));
  say("unlink d/dangling", __wasi_path_unlink_file(dir, "d/dangling"));
  show_path_stat("d/f.txt", 0); /* the target stays */
  say("unlink d/renamed", __wasi_path_unlink_file(dir, "d/renamed"));
  say("unlink d/f.txt", __wasi_path_unlink_file(dir, "d/f.txt"));
  say("unlink d/f.txt again", __wasi_path_unlink_file(dir, "d/f.txt"));
  say("rmdir d", __wasi_path_remove_directory(dir, "d"));
  say("rmdir d again", __wasi_path_remove_directory(dir, "d"));

  say("sched_yield", __wasi_sched_yield());
  say("proc_raise SIGUSR1", (__wasi_errno_t)raw_proc_raise(10 /* witx signal usr1 */));
  return 0;
}
