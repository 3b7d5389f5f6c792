/* Tries to escape the WASI directory grants through raw preview1 calls
 * (tests/wasi/test_sandbox_escapes.py builds the tree and checks the output).
 *
 *   escape VECTOR ROOT
 *
 * VECTOR picks a group of attempts (see VECTORS below); ROOT is the host
 * directory holding the tree, for the attempts that name host paths.  The
 * guest sees the grant at /sandbox (read-write), the read-only grant at /ro
 * and, for magic_links, the host's /proc/self at /proc.  Every attempt prints
 * one line:
 *
 *   escape LABEL: refused              the call failed (any errno)
 *   escape LABEL: ALLOWED[, ...]       it succeeded: an escape
 *   control LABEL: allowed[, ...]      a legitimate in-grant operation worked
 *   control LABEL: FAILED              ... or did not
 *
 * Errnos are normalised to refused/allowed on stdout because runtimes differ
 * (wasmaot says NOTCAPABLE where wasmtime says PERM, NOENT or LOOP); the
 * numbers go to stderr.  When an escaping open succeeds the line says
 * whether reading the fd gave the secret ("secret read"); the secret itself
 * is never printed.  Labels name host paths as $ROOT so that the output does
 * not depend on where the tree is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define R(name) __WASI_RIGHTS_##name
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define CREAT __WASI_OFLAGS_CREAT
#define DIRECTORY __WASI_OFLAGS_DIRECTORY
#define EXCL __WASI_OFLAGS_EXCL
#define TRUNC __WASI_OFLAGS_TRUNC

static const __wasi_rights_t READ_RIGHTS =
    R(FD_READ) | R(FD_SEEK) | R(FD_TELL) | R(FD_FILESTAT_GET) | R(FD_READDIR);
static const __wasi_rights_t WRITE_RIGHTS = R(FD_WRITE) | R(FD_FILESTAT_SET_SIZE) |
                                            R(FD_ALLOCATE) | R(FD_FILESTAT_SET_TIMES);
static const __wasi_rights_t DIR_RIGHTS =
    R(PATH_OPEN) | R(FD_READDIR) | R(FD_FILESTAT_GET) | R(PATH_FILESTAT_GET) |
    R(PATH_CREATE_FILE) | R(PATH_CREATE_DIRECTORY) | R(PATH_UNLINK_FILE) |
    R(PATH_REMOVE_DIRECTORY) | R(PATH_RENAME_SOURCE) | R(PATH_RENAME_TARGET) |
    R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET) | R(PATH_SYMLINK) | R(PATH_READLINK) |
    R(PATH_FILESTAT_SET_TIMES);
static const __wasi_rights_t ALL_RIGHTS = (__wasi_rights_t)0x1fffffff;

static const char *root;      /* argv[2]: the host directory of the tree */
/* fdflags for escaping opens: magic_links sets NONBLOCK, as an fd/N link that
 * wrongly opened the guest's own stdout pipe would block the read for ever. */
static __wasi_fdflags_t escape_fdflags;
static int G = -1, RO = -1, P = -1;  /* the /sandbox, /ro and /proc preopens */

/* "$ROOT" in a label, the real host path in the call. */
static const char *host(const char *label) {
  static char bufs[4][1024];
  static int next;
  char *b = bufs[next++ % 4];
  const char *at = strstr(label, "$ROOT");
  if (at)
    snprintf(b, sizeof bufs[0], "%.*s%s%s", (int)(at - label), label, root, at + 5);
  else
    snprintf(b, sizeof bufs[0], "%s", label);
  return b;
}

static int find_preopen(const char *name) {
  for (__wasi_fd_t fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    char buf[256];
    if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
    size_t n = ps.u.dir.pr_name_len;
    if (n >= sizeof buf || __wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, n) != 0) continue;
    buf[n] = 0;
    if (strcmp(buf, name) == 0) return (int)fd;
  }
  return -1;
}

/* Reads up to `cap` bytes of fd into buf; returns the count (0 on error). */
static size_t read_fd(int fd, char *buf, size_t cap) {
  __wasi_iovec_t iov = {(uint8_t *)buf, cap};
  __wasi_size_t n = 0;
  if (__wasi_fd_read(fd, &iov, 1, &n) != 0) return 0;
  return n;
}

static int has_secret(const char *buf, size_t n) {
  for (size_t i = 0; i + 6 <= n; i++)
    if (memcmp(buf + i, "SECRET", 6) == 0) return 1;
  return 0;
}

static void report(const char *kind, const char *label, __wasi_errno_t err, const char *extra) {
  fprintf(stderr, "%s %s: errno %d\n", kind, label, err);
  if (strcmp(kind, "escape") == 0)
    printf("escape %s: %s%s\n", label, err ? "refused" : "ALLOWED", err ? "" : extra);
  else
    printf("control %s: %s%s\n", label, err ? "FAILED" : "allowed", err ? "" : extra);
}

static void escape(const char *label, __wasi_errno_t err) { report("escape", label, err, ""); }
static void control(const char *label, __wasi_errno_t err) { report("control", label, err, ""); }

static __wasi_errno_t open_with(int dir, const char *path, __wasi_lookupflags_t look,
                                __wasi_oflags_t of, __wasi_rights_t rights,
                                __wasi_fdflags_t fdflags, int *fd) {
  __wasi_fd_t out = (__wasi_fd_t)-1;
  __wasi_errno_t err =
      __wasi_path_open(dir, look, host(path), of, rights, ALL_RIGHTS, fdflags, &out);
  *fd = err ? -1 : (int)out;
  return err;
}

static __wasi_errno_t open_at(int dir, const char *path, __wasi_lookupflags_t look,
                              __wasi_oflags_t of, __wasi_rights_t rights, int *fd) {
  return open_with(dir, path, look, of, rights, 0, fd);
}

/* An escaping open: on success, says whether the fd reads the secret. */
static void escape_open(const char *what, int dir, const char *path, __wasi_lookupflags_t look,
                        __wasi_oflags_t of, __wasi_rights_t rights) {
  char label[512], buf[256];
  snprintf(label, sizeof label, "%s(%s)", what, path);
  int fd;
  __wasi_errno_t err = open_with(dir, path, look, of, rights, escape_fdflags, &fd);
  const char *extra = "";
  if (!err) {
    extra = has_secret(buf, read_fd(fd, buf, sizeof buf)) ? ", secret read" : ", no secret";
    (void)__wasi_fd_close(fd);
  }
  report("escape", label, err, extra);
}

static void esc_read(int dir, const char *path) {
  escape_open("open", dir, path, FOLLOW, 0, READ_RIGHTS);
}

/* A legitimate open: on success, prints what the file holds (never the secret). */
static void control_read(int dir, const char *path, __wasi_lookupflags_t look,
                         __wasi_oflags_t of) {
  char label[512], buf[64], extra[96] = "";
  snprintf(label, sizeof label, "open(%s%s)", path, of & TRUNC ? ", trunc" : "");
  int fd;
  __wasi_rights_t rights = READ_RIGHTS | (of & (CREAT | TRUNC) ? WRITE_RIGHTS : 0);
  __wasi_errno_t err = open_at(dir, path, look, of, rights, &fd);
  if (!err) {
    size_t n = read_fd(fd, buf, sizeof buf);
    snprintf(extra, sizeof extra, ", read '%.*s'", has_secret(buf, n) ? 6 : (int)n,
             has_secret(buf, n) ? "<SECRET!>" : buf);
    (void)__wasi_fd_close(fd);
  }
  report("control", label, err, extra);
}

static void esc_path(const char *what, __wasi_errno_t (*fn)(__wasi_fd_t, const char *),
                     int dir, const char *path) {
  char label[512];
  snprintf(label, sizeof label, "%s(%s)", what, path);
  escape(label, fn(dir, host(path)));
}

static __wasi_errno_t stat_at(int dir, __wasi_lookupflags_t look, const char *path) {
  __wasi_filestat_t st;
  return __wasi_path_filestat_get(dir, look, host(path), &st);
}

static __wasi_errno_t rename_at(int od, const char *op, int nd, const char *np) {
  return __wasi_path_rename(od, host(op), nd, host(np));
}

static __wasi_errno_t link_at(int od, __wasi_lookupflags_t look, const char *op, int nd,
                              const char *np) {
  return __wasi_path_link(od, look, host(op), nd, host(np));
}

static __wasi_errno_t symlink_at(const char *target, int dir, const char *path) {
  return __wasi_path_symlink(host(target), dir, host(path));
}

static __wasi_errno_t readlink_at(int dir, const char *path) {
  char buf[256];
  __wasi_size_t n;
  return __wasi_path_readlink(dir, host(path), (uint8_t *)buf, sizeof buf, &n);
}

static __wasi_errno_t set_times_at(int dir, __wasi_lookupflags_t look, const char *path) {
  return __wasi_path_filestat_set_times(dir, look, host(path), 0, 5, __WASI_FSTFLAGS_MTIM);
}

#define LABEL(...) (snprintf(label, sizeof label, __VA_ARGS__), label)

/* --- the vectors ------------------------------------------------------------------------ */

static void dotdot(void) {
  char label[512];
  esc_read(G, "../outside/secret");
  esc_read(G, "sub/../../outside/secret");
  esc_read(G, "sub/./../.././outside/secret");
  esc_read(G, "empty/../sub/../../outside/secret");
  escape_open("opendir", G, "..", FOLLOW, DIRECTORY, READ_RIGHTS);
  escape_open("opendir", G, "sub/../..", FOLLOW, DIRECTORY, READ_RIGHTS);
  escape_open("create", G, "../outside/new", FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
  escape_open("create", G, "sub/../../outside/new", FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
  escape_open("truncate", G, "../outside/secret", FOLLOW, TRUNC, READ_RIGHTS | WRITE_RIGHTS);
  esc_path("mkdir", __wasi_path_create_directory, G, "../outside/newdir");
  escape(LABEL("stat(../outside/secret)"), stat_at(G, FOLLOW, "../outside/secret"));
  escape(LABEL("stat(sub/../..)"), stat_at(G, 0, "sub/../.."));
  control_read(G, "sub/../file", FOLLOW, 0);
  control_read(G, "./sub/./inner", FOLLOW, 0);
  control_read(G, "sub/../sub/../empty/../file", FOLLOW, 0);
  control(LABEL("stat(sub/..)"), stat_at(G, 0, "sub/.."));
}

static void absolute(void) {
  char label[512];
  esc_read(G, "$ROOT/outside/secret");
  esc_read(G, "/etc/passwd");
  escape_open("opendir", G, "/", FOLLOW, DIRECTORY, READ_RIGHTS);
  esc_read(G, "/sandbox/file");             /* the guest's own name: still absolute */
  esc_read(G, "//etc/passwd");
  escape_open("create", G, "$ROOT/outside/new", FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
  escape_open("truncate", G, "$ROOT/outside/secret", FOLLOW, TRUNC, READ_RIGHTS | WRITE_RIGHTS);
  esc_path("mkdir", __wasi_path_create_directory, G, "$ROOT/outside/newdir");
  escape(LABEL("stat($ROOT/outside/secret)"), stat_at(G, FOLLOW, "$ROOT/outside/secret"));
  esc_read(RO, "$ROOT/outside/secret");
  control_read(G, "file", FOLLOW, 0);
  control_read(RO, "file", FOLLOW, 0);
}

static void symlink_out(void) {
  char label[512];
  static const char *links[] = {"out_rel", "out_abs", "chain1", "loop_a", "dangling",
                                "out_dir/secret", "out_dir_abs/secret", "sub/up_out"};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    esc_read(G, links[i]);
    escape(LABEL("stat(%s)", links[i]), stat_at(G, FOLLOW, links[i]));
  }
  escape_open("opendir", G, "out_dir", FOLLOW, DIRECTORY, READ_RIGHTS);
  escape_open("opendir", G, "out_dir_abs", FOLLOW, DIRECTORY, READ_RIGHTS);
  escape_open("open-nofollow-dir", G, "out_dir/secret", 0, 0, READ_RIGHTS);
  escape(LABEL("set-times(out_rel, follow)"), set_times_at(G, FOLLOW, "out_rel"));
  esc_path("mkdir", __wasi_path_create_directory, G, "out_dir/newdir");
  esc_path("mkdir", __wasi_path_create_directory, G, "out_dir_abs/newdir");
  control_read(G, "in_link", FOLLOW, 0);
  control_read(G, "in_chain", FOLLOW, 0);
  control_read(G, "sub/up", FOLLOW, 0);
  /* The links themselves live in the grant: looking at them is fine. */
  control(LABEL("stat(out_rel, nofollow)"), stat_at(G, 0, "out_rel"));
  control(LABEL("readlink(out_rel)"), readlink_at(G, "out_rel"));
}

static void trailing_slash(void) {
  char label[512];
  static const char *paths[] = {"out_dir/", "out_dir//", "out_dir_abs/", "out_dir/.",
                                "out_dir/dir/", "../", "sub/../../", "out_rel/"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    escape_open("opendir", G, paths[i], FOLLOW, DIRECTORY, READ_RIGHTS);
    escape_open("opendir-nofollow", G, paths[i], 0, DIRECTORY, READ_RIGHTS);
    escape(LABEL("stat-nofollow(%s)", paths[i]), stat_at(G, 0, paths[i]));
  }
  escape_open("create", G, "out_dir/new", 0, CREAT, READ_RIGHTS | WRITE_RIGHTS);
  esc_path("mkdir", __wasi_path_create_directory, G, "out_dir/newdir/");
  esc_path("rmdir", __wasi_path_remove_directory, G, "out_dir/dir/");
  control_read(G, "sub/inner", FOLLOW, 0);
  control(LABEL("stat-nofollow(in_dir/)"), stat_at(G, 0, "in_dir/"));
}

static void creat_trunc(void) {
  static const char *links[] = {"out_rel", "out_abs", "chain1", "dangling", "dangling_abs",
                                "out_dir/secret", "out_dir/new"};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    escape_open("create", G, links[i], FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
    escape_open("create-excl", G, links[i], FOLLOW, CREAT | EXCL, READ_RIGHTS | WRITE_RIGHTS);
    escape_open("truncate", G, links[i], FOLLOW, TRUNC, READ_RIGHTS | WRITE_RIGHTS);
    escape_open("create-truncate", G, links[i], FOLLOW, CREAT | TRUNC,
                READ_RIGHTS | WRITE_RIGHTS);
    escape_open("write", G, links[i], FOLLOW, 0, WRITE_RIGHTS);
  }
  control_read(G, "fresh", FOLLOW, CREAT);
  control_read(G, "in_link", FOLLOW, TRUNC);  /* truncates sub/inner, in the grant */
  control_read(G, "in_dangling", FOLLOW, CREAT); /* creates sub/made, in the grant */
}

static void hard_link(void) {
  char label[512];
  escape(LABEL("link(../outside/secret -> stolen)"),
         link_at(G, 0, "../outside/secret", G, "stolen"));
  escape(LABEL("link(out_dir/secret -> stolen)"), link_at(G, 0, "out_dir/secret", G, "stolen"));
  escape(LABEL("link($ROOT/outside/secret -> stolen)"),
         link_at(G, 0, "$ROOT/outside/secret", G, "stolen"));
  escape(LABEL("link(out_rel -> stolen, follow)"), link_at(G, FOLLOW, "out_rel", G, "stolen"));
  escape(LABEL("link(file -> ../outside/planted)"),
         link_at(G, 0, "file", G, "../outside/planted"));
  escape(LABEL("link(file -> out_dir/planted)"), link_at(G, 0, "file", G, "out_dir/planted"));
  escape(LABEL("link(file -> $ROOT/outside/planted)"),
         link_at(G, 0, "file", G, "$ROOT/outside/planted"));
  escape(LABEL("link(/ro file -> writable)"), link_at(RO, 0, "file", G, "writable"));
  escape(LABEL("link(file -> /ro planted)"), link_at(G, 0, "file", RO, "planted"));
  control(LABEL("link(file -> file2)"), link_at(G, 0, "file", G, "file2"));
  control_read(G, "file2", FOLLOW, 0);
  /* Linking a symlink without following copies the LINK; opening the copy is
   * still an escape. */
  control(LABEL("link(out_rel -> copy)"), link_at(G, 0, "out_rel", G, "copy"));
  esc_read(G, "copy");
}

static void rename_(void) {
  char label[512];
  escape(LABEL("rename(../outside/secret -> stolen)"),
         rename_at(G, "../outside/secret", G, "stolen"));
  escape(LABEL("rename(out_dir/secret -> stolen)"), rename_at(G, "out_dir/secret", G, "stolen"));
  escape(LABEL("rename(out_dir/dir -> stolen)"), rename_at(G, "out_dir/dir", G, "stolen"));
  escape(LABEL("rename($ROOT/outside/secret -> stolen)"),
         rename_at(G, "$ROOT/outside/secret", G, "stolen"));
  escape(LABEL("rename(file -> ../outside/planted)"),
         rename_at(G, "file", G, "../outside/planted"));
  escape(LABEL("rename(file -> out_dir/planted)"), rename_at(G, "file", G, "out_dir/planted"));
  escape(LABEL("rename(sub -> out_dir/sub)"), rename_at(G, "sub", G, "out_dir/sub"));
  escape(LABEL("rename(file -> $ROOT/outside/planted)"),
         rename_at(G, "file", G, "$ROOT/outside/planted"));
  escape(LABEL("rename(file -> ../../planted)"), rename_at(G, "file", G, "../../planted"));
  escape(LABEL("rename(.. -> x)"), rename_at(G, "..", G, "x"));
  escape(LABEL("rename(/ro file -> stolen)"), rename_at(RO, "file", G, "stolen"));
  escape(LABEL("rename(file -> /ro planted)"), rename_at(G, "file", RO, "planted"));
  control(LABEL("rename(file -> sub/moved)"), rename_at(G, "file", G, "sub/moved"));
  control_read(G, "sub/moved", FOLLOW, 0);
  /* Renaming a link moves only the link. */
  control(LABEL("rename(out_rel -> moved_link)"), rename_at(G, "out_rel", G, "moved_link"));
  esc_read(G, "moved_link");
  /* Renaming onto a link replaces the link, never its target. */
  control(LABEL("rename(sub/moved -> out_abs)"), rename_at(G, "sub/moved", G, "out_abs"));
  control_read(G, "out_abs", FOLLOW, 0);
}

static void unlink_(void) {
  char label[512];
  esc_path("unlink", __wasi_path_unlink_file, G, "../outside/secret");
  esc_path("unlink", __wasi_path_unlink_file, G, "out_dir/secret");
  esc_path("unlink", __wasi_path_unlink_file, G, "out_dir_abs/secret");
  esc_path("unlink", __wasi_path_unlink_file, G, "$ROOT/outside/secret");
  esc_path("unlink", __wasi_path_unlink_file, G, "sub/../../outside/link");
  esc_path("rmdir", __wasi_path_remove_directory, G, "../outside/dir");
  esc_path("rmdir", __wasi_path_remove_directory, G, "out_dir/dir");
  esc_path("rmdir", __wasi_path_remove_directory, G, "$ROOT/outside/dir");
  esc_path("rmdir", __wasi_path_remove_directory, G, "..");
  esc_path("rmdir", __wasi_path_remove_directory, G, "sub/../..");
  /* Unlinking a link that points out removes the link, in the grant. */
  control(LABEL("unlink(out_rel)"), __wasi_path_unlink_file(G, "out_rel"));
  control(LABEL("unlink(out_dir)"), __wasi_path_unlink_file(G, "out_dir"));
  control(LABEL("rmdir(empty)"), __wasi_path_remove_directory(G, "empty"));
  control(LABEL("unlink(sub/../file)"), __wasi_path_unlink_file(G, "sub/../file"));
}

static void stat_readlink(void) {
  char label[512];
  static const char *paths[] = {"../outside/secret", "out_rel", "out_abs", "chain1",
                                "out_dir/secret", "$ROOT/outside/secret", "out_dir/link"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    escape(LABEL("stat(%s)", paths[i]), stat_at(G, FOLLOW, paths[i]));
    escape(LABEL("set-times(%s)", paths[i]), set_times_at(G, FOLLOW, paths[i]));
  }
  escape(LABEL("readlink(../outside/link)"), readlink_at(G, "../outside/link"));
  escape(LABEL("readlink(out_dir/link)"), readlink_at(G, "out_dir/link"));
  escape(LABEL("readlink($ROOT/outside/link)"), readlink_at(G, "$ROOT/outside/link"));
  escape(LABEL("set-times-nofollow(out_dir/secret)"), set_times_at(G, 0, "out_dir/secret"));
  control(LABEL("stat(sub/inner)"), stat_at(G, FOLLOW, "sub/inner"));
  control(LABEL("stat(in_link)"), stat_at(G, FOLLOW, "in_link"));
  control(LABEL("readlink(in_link)"), readlink_at(G, "in_link"));
  control(LABEL("readlink(chain1)"), readlink_at(G, "chain1"));
  control(LABEL("set-times(file)"), set_times_at(G, FOLLOW, "file"));
}

static void preopen_parent(void) {
  char label[512];
  int sub;
  __wasi_errno_t err = open_at(G, "sub", FOLLOW, DIRECTORY, READ_RIGHTS | DIR_RIGHTS, &sub);
  control(LABEL("opendir(sub)"), err);
  escape_open("opendir", G, "..", FOLLOW, DIRECTORY, READ_RIGHTS);
  escape_open("opendir", G, ".././grant", FOLLOW, DIRECTORY, READ_RIGHTS);
  esc_read(G, "../grant/file");               /* back in through the parent */
  esc_read(RO, "../grant/file");              /* a sibling grant, by its host name */
  escape_open("write", RO, "../grant/file", FOLLOW, 0, WRITE_RIGHTS);
  if (!err) {
    escape_open("[sub] opendir", sub, "../..", FOLLOW, DIRECTORY, READ_RIGHTS);
    escape_open("[sub] open", sub, "../../outside/secret", FOLLOW, 0, READ_RIGHTS);
    escape(LABEL("[sub] mkdir(../../outside/x)"),
           __wasi_path_create_directory(sub, "../../outside/x"));
    escape(LABEL("[sub] rename(inner -> ../../outside/x)"),
           rename_at(sub, "inner", sub, "../../outside/x"));
    /* sub's fd is a capability of its own: its parent is outside it. */
    escape_open("[sub] open", sub, "../file", FOLLOW, 0, READ_RIGHTS);
    control_read(sub, "inner", FOLLOW, 0);
    (void)__wasi_fd_close(sub);
  }
  control_read(G, ".", FOLLOW, DIRECTORY);
  control(LABEL("stat(.)"), stat_at(G, 0, "."));
}

static void readonly(void) {
  char label[512];
  escape_open("write", RO, "file", FOLLOW, 0, READ_RIGHTS | WRITE_RIGHTS);
  escape_open("write-only", RO, "file", FOLLOW, 0, R(FD_WRITE));
  escape_open("create", RO, "new", FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
  escape_open("create-readonly", RO, "new2", FOLLOW, CREAT, READ_RIGHTS);
  escape_open("truncate", RO, "file", FOLLOW, TRUNC, READ_RIGHTS | WRITE_RIGHTS);
  escape_open("truncate-readonly", RO, "file", FOLLOW, TRUNC, READ_RIGHTS);
  esc_path("mkdir", __wasi_path_create_directory, RO, "newdir");
  esc_path("rmdir", __wasi_path_remove_directory, RO, "sub");
  esc_path("unlink", __wasi_path_unlink_file, RO, "file");
  escape(LABEL("rename(file -> moved)"), rename_at(RO, "file", RO, "moved"));
  escape(LABEL("symlink(file -> link)"), symlink_at("file", RO, "link"));
  escape(LABEL("link(file -> link)"), link_at(RO, 0, "file", RO, "hard"));
  escape(LABEL("set-times(file)"), set_times_at(RO, FOLLOW, "file"));
  escape(LABEL("set-times-nofollow(file)"), set_times_at(RO, 0, "file"));
  escape(LABEL("fd-set-times(/ro)"), __wasi_fd_filestat_set_times(RO, 0, 5, __WASI_FSTFLAGS_MTIM));
  int fd;
  __wasi_errno_t err = open_at(RO, "file", FOLLOW, 0, READ_RIGHTS, &fd);
  control(LABEL("open(file, read)"), err);
  if (!err) {
    __wasi_ciovec_t iov = {(const uint8_t *)"X", 1};
    __wasi_size_t n;
    escape(LABEL("fd_write(file)"), __wasi_fd_write(fd, &iov, 1, &n));
    escape(LABEL("fd_pwrite(file)"), __wasi_fd_pwrite(fd, &iov, 1, 0, &n));
    escape(LABEL("fd_filestat_set_size(file)"), __wasi_fd_filestat_set_size(fd, 0));
    escape(LABEL("fd_allocate(file)"), __wasi_fd_allocate(fd, 0, 100));
    escape(LABEL("fd_filestat_set_times(file)"),
           __wasi_fd_filestat_set_times(fd, 0, 5, __WASI_FSTFLAGS_MTIM));
    (void)__wasi_fd_close(fd);
  }
  /* Asking for the rights back (the call's answer differs between runtimes,
   * so only its effect is an attempt): creating must still fail. */
  (void)__wasi_fd_fdstat_set_rights(RO, ALL_RIGHTS, ALL_RIGHTS);
  escape_open("create after set_rights", RO, "new3", FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
  int sub;
  err = open_at(RO, "sub", FOLLOW, DIRECTORY, READ_RIGHTS | DIR_RIGHTS, &sub);
  control(LABEL("opendir(sub)"), err);
  if (!err) {
    escape_open("[sub] create", sub, "new", FOLLOW, CREAT, READ_RIGHTS | WRITE_RIGHTS);
    escape_open("[sub] write", sub, "../file", FOLLOW, 0, READ_RIGHTS | WRITE_RIGHTS);
    escape(LABEL("[sub] mkdir(x)"), __wasi_path_create_directory(sub, "x"));
    (void)__wasi_fd_close(sub);
  }
  escape(LABEL("rename(/sandbox file -> /ro planted)"), rename_at(G, "file", RO, "planted"));
  escape(LABEL("rename(/ro file -> /sandbox stolen)"), rename_at(RO, "file", G, "stolen"));
  control_read(RO, "file", FOLLOW, 0);
  control(LABEL("stat(sub)"), stat_at(RO, FOLLOW, "sub"));
}

static void symlink_create(void) {
  char label[512];
  static const char *targets[][2] = {
      {"../outside/secret", "l1"}, {"/etc/passwd", "l2"},       {"$ROOT/outside/secret", "l3"},
      {"sub/../../outside", "l4"}, {"..", "l5"},                {"../../outside", "sub/l6"},
      {"/", "l7"},                 {"../outside/newfile", "l8"}};
  for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
    const char *target = targets[i][0], *name = targets[i][1];
    escape(LABEL("symlink(%s -> %s)", name, target), symlink_at(target, G, name));
    /* Whether or not the runtime made the link, following it must fail. */
    esc_read(G, name);
    escape_open("opendir", G, name, FOLLOW, DIRECTORY, READ_RIGHTS);
  }
  control(LABEL("symlink(ok -> sub/inner)"), symlink_at("sub/inner", G, "ok"));
  control_read(G, "ok", FOLLOW, 0);
  control(LABEL("symlink(sub/ok -> ../file)"), symlink_at("../file", G, "sub/ok"));
  control_read(G, "sub/ok", FOLLOW, 0);
}

static void magic_links(void) {
  char label[512];
  if (P < 0) {
    printf("no /proc grant\n");
    return;
  }
  escape_fdflags = __WASI_FDFLAGS_NONBLOCK;
  esc_read(P, "root$ROOT/outside/secret");
  escape_open("opendir", P, "root", FOLLOW, DIRECTORY, READ_RIGHTS);
  escape_open("opendir", P, "cwd", FOLLOW, DIRECTORY, READ_RIGHTS);
  esc_read(P, "exe");
  for (int i = 0; i < 8; i++) {
    char path[32];
    snprintf(path, sizeof path, "fd/%d", i);
    esc_read(P, path);
  }
  escape(LABEL("stat(root/etc)"), stat_at(P, FOLLOW, "root/etc"));
  escape_open("opendir", P, "cwd/..", FOLLOW, DIRECTORY, READ_RIGHTS);
  control(LABEL("stat(status)"), stat_at(P, FOLLOW, "status"));
}

static const struct {
  const char *name;
  void (*run)(void);
} VECTORS[] = {
    {"dotdot", dotdot},
    {"absolute", absolute},
    {"symlink_out", symlink_out},
    {"trailing_slash", trailing_slash},
    {"creat_trunc", creat_trunc},
    {"hard_link", hard_link},
    {"rename", rename_},
    {"unlink", unlink_},
    {"stat_readlink", stat_readlink},
    {"preopen_parent", preopen_parent},
    {"readonly", readonly},
    {"symlink_create", symlink_create},
    {"magic_links", magic_links},
};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: escape VECTOR ROOT\n");
    return 2;
  }
  root = argv[2];
  G = find_preopen("/sandbox");
  RO = find_preopen("/ro");
  P = find_preopen("/proc");
  if (G < 0 || RO < 0) {
    printf("missing grant: /sandbox %d, /ro %d\n", G, RO);
    return 1;
  }
  for (size_t i = 0; i < sizeof VECTORS / sizeof *VECTORS; i++)
    if (strcmp(argv[1], VECTORS[i].name) == 0) {
      VECTORS[i].run();
      return 0;
    }
  fprintf(stderr, "unknown vector %s\n", argv[1]);
  return 2;
}
