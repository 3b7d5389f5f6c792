/* The assertions of the official WASI preview1 test programs
 * (github.com/WebAssembly/wasi-testsuite: tests/rust/wasm32-wasip1/src/bin,
 * tests/c/src, tests/assemblyscript/wasm32-wasip1/src), written again in C
 * over the raw API in the empty read-write preopen named argv[1] (and the
 * empty read-only preopen argv[2]).
 *
 * Every assertion prints one line "TEST: WHAT: ok" or "TEST: WHAT: FAIL ..."
 * where TEST is the official program's name and the accepted errnos are the
 * ones it accepts on Linux (where it allows several, any of them is "ok", so
 * two engines that answer differently but both as the suite allows print the
 * same line).  Lines under "linux:" are no official assertion: they print the
 * raw errno of the same operations in the cases the suite leaves out (both
 * paths of link/rename/symlink with and without trailing slashes), for the
 * comparison with wasmtime and Linux's own link(2)/rename(2)/symlink(2).
 * Leaves the directory empty. */
/* Clean-up calls ignore their errnos: what they remove may be gone already. */
#pragma clang diagnostic ignored "-Wunused-result"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* path_open with an explicit path length (wasi/api.h takes a C string). */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")))
int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, int32_t path_len,
                      int32_t oflags, int64_t base, int64_t inheriting, int32_t fdflags,
                      __wasi_fd_t *out);

static __wasi_fd_t root = (__wasi_fd_t)-1;

static const char *test = "?";

/* Prints ok when `got` is one of the n errnos that follow, else FAIL. */
static void expect(const char *what, __wasi_errno_t got, int n, ...) {
  va_list ap;
  va_start(ap, n);
  int ok = 0;
  char want[64] = "";
  for (int i = 0; i < n; i++) {
    int e = va_arg(ap, int);
    ok |= e == got;
    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i ? "|" : "", e);
  }
  va_end(ap);
  if (ok)
    printf("%s: %s: ok\n", test, what);
  else
    printf("%s: %s: FAIL errno %d, want %s\n", test, what, got, want);
}

static void expect_ok(const char *what, __wasi_errno_t got) { expect(what, got, 1, 0); }

static void expect_true(const char *what, int cond) {
  printf("%s: %s: %s\n", test, what, cond ? "ok" : "FAIL");
}

/* A raw errno, for the "linux:" lines compared with wasmtime. */
static void show(const char *what, __wasi_errno_t got) {
  printf("linux: %s: errno %d\n", what, got);
}

#define E(name) __WASI_ERRNO_##name

/* The rights the official tests' create_tmp_dir asks for (base, inheriting). */
#define TMP_BASE                                                                                \
  (__WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_CREATE_FILE |   \
   __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |                   \
   __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_PATH_LINK_SOURCE |   \
   __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_READLINK |                                \
   __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |                         \
   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |                      \
   __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES | __WASI_RIGHTS_PATH_SYMLINK)
#define TMP_INHERITING                                                                          \
  (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_READDIR |                  \
   __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_PATH_LINK_SOURCE |      \
   __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_UNLINK_FILE |   \
   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | \
   __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |                 \
   __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES)

/* A fresh subdirectory of the preopen, opened as the official tests do. */
static __wasi_fd_t tmp_dir(const char *name) {
  __wasi_fd_t fd = (__wasi_fd_t)-1;
  __wasi_errno_t err = __wasi_path_create_directory(root, name);
  if (err == 0)
    err = __wasi_path_open(root, 0, name, __WASI_OFLAGS_DIRECTORY, TMP_BASE, TMP_INHERITING, 0,
                           &fd);
  expect_ok("make the scratch directory", err);
  return fd;
}

static void drop_tmp_dir(__wasi_fd_t fd, const char *name) {
  __wasi_fd_close(fd);
  expect_ok("remove the scratch directory", __wasi_path_remove_directory(root, name));
}

static __wasi_errno_t open_fd(__wasi_fd_t dir, __wasi_lookupflags_t lookup, const char *path,
                              __wasi_oflags_t oflags, __wasi_rights_t base,
                              __wasi_rights_t inheriting, __wasi_fdflags_t fdflags,
                              __wasi_fd_t *out) {
  *out = (__wasi_fd_t)-1;
  return __wasi_path_open(dir, lookup, path, oflags, base, inheriting, fdflags, out);
}

/* Opens and closes at once: the errno only. */
static __wasi_errno_t try_open(__wasi_fd_t dir, __wasi_lookupflags_t lookup, const char *path,
                               __wasi_oflags_t oflags, __wasi_rights_t base) {
  __wasi_fd_t fd;
  __wasi_errno_t err = open_fd(dir, lookup, path, oflags, base, 0, 0, &fd);
  if (err == 0) __wasi_fd_close(fd);
  return err;
}

static void create_file(__wasi_fd_t dir, const char *name) {
  expect_ok("create a file", try_open(dir, 0, name, __WASI_OFLAGS_CREAT, 0));
}

static __wasi_errno_t write_bytes(__wasi_fd_t fd, const void *buf, size_t len) {
  __wasi_ciovec_t iov = {buf, len};
  __wasi_size_t n = 0;
  return __wasi_fd_write(fd, &iov, 1, &n);
}

static __wasi_errno_t read_bytes(__wasi_fd_t fd, void *buf, size_t len) {
  __wasi_iovec_t iov = {buf, len};
  __wasi_size_t n = 0;
  return __wasi_fd_read(fd, &iov, 1, &n);
}

static void path_link(void) {
  test = "path_link";
  __wasi_fd_t d = tmp_dir("path_link.dir"), f, sub;
  __wasi_rights_t r = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_PATH_LINK_SOURCE |
                      __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_FD_FILESTAT_GET |
                      __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_UNLINK_FILE;
  expect_ok("create file", open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, r, r, 0, &f));
  expect_ok("link in the same directory", __wasi_path_link(d, 0, "file", d, "link"));
  __wasi_filestat_t a, b;
  __wasi_fd_filestat_get(f, &a);
  expect_ok("stat the link", __wasi_path_filestat_get(d, 0, "link", &b));
  expect_true("the link is the file", a.ino == b.ino && a.dev == b.dev && b.nlink == 2);
  expect_ok("unlink the link", __wasi_path_unlink_file(d, "link"));
  expect_ok("mkdir subdir", __wasi_path_create_directory(d, "subdir"));
  expect_ok("open subdir", open_fd(d, 0, "subdir", __WASI_OFLAGS_DIRECTORY, r, r, 0, &sub));
  expect_ok("link into a subdirectory fd", __wasi_path_link(d, 0, "file", sub, "link"));
  expect_ok("unlink it", __wasi_path_unlink_file(sub, "link"));
  __wasi_fd_close(sub);
  __wasi_fd_close(f);
  expect_ok("rmdir subdir", __wasi_path_remove_directory(d, "subdir"));
  create_file(d, "link");
  expect("link over an existing file", __wasi_path_link(d, 0, "file", d, "link"), 1, E(EXIST));
  __wasi_path_unlink_file(d, "link");
  expect("link to itself", __wasi_path_link(d, 0, "file", d, "file"), 1, E(EXIST));
  __wasi_path_create_directory(d, "link");
  expect("link over a directory", __wasi_path_link(d, 0, "file", d, "link"), 1, E(EXIST));
  __wasi_path_remove_directory(d, "link");
  __wasi_path_create_directory(d, "subdir");
  expect("link a directory", __wasi_path_link(d, 0, "subdir", d, "link"), 2, E(PERM), E(ACCES));
  __wasi_path_remove_directory(d, "subdir");
  expect("new path with a trailing slash", __wasi_path_link(d, 0, "file", d, "link/"), 1,
         E(NOENT));
  expect_ok("dangling symlink", __wasi_path_symlink("target", d, "symlink"));
  expect_ok("link a dangling symlink", __wasi_path_link(d, 0, "symlink", d, "link"));
  __wasi_path_unlink_file(d, "symlink");
  __wasi_path_unlink_file(d, "link");
  expect_ok("symlink loop", __wasi_path_symlink("symlink", d, "symlink"));
  expect_ok("link a symlink loop", __wasi_path_link(d, 0, "symlink", d, "link"));
  __wasi_path_unlink_file(d, "symlink");
  __wasi_path_unlink_file(d, "link");
  __wasi_path_symlink("target", d, "symlink");
  expect("link over a dangling symlink", __wasi_path_link(d, 0, "file", d, "symlink"), 1,
         E(EXIST));
  expect("link with SYMLINK_FOLLOW",
         __wasi_path_link(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "symlink", d, "link"), 2,
         E(INVAL), E(NOENT));
  __wasi_path_unlink_file(d, "symlink");
  expect_ok("unlink file", __wasi_path_unlink_file(d, "file"));
  drop_tmp_dir(d, "path_link.dir");
}

/* The scratch tree of two_path_trailing_slashes: a fresh directory with
 * file, file2, dir, dir2 (empty) and symlinks to each kind. */
static __wasi_fd_t slash_tree(void) {
  __wasi_fd_t d = (__wasi_fd_t)-1;
  __wasi_path_create_directory(root, "slashes.dir");
  open_fd(root, 0, "slashes.dir", __WASI_OFLAGS_DIRECTORY, TMP_BASE, TMP_INHERITING, 0, &d);
  try_open(d, 0, "file", __WASI_OFLAGS_CREAT, 0);
  try_open(d, 0, "file2", __WASI_OFLAGS_CREAT, 0);
  __wasi_path_create_directory(d, "dir");
  __wasi_path_create_directory(d, "dir2");
  __wasi_path_symlink("dir2", d, "symdir");
  __wasi_path_symlink("file2", d, "symfile");
  __wasi_path_symlink("nowhere", d, "dangling");
  return d;
}

/* Removes whatever the operation left of the tree (errnos ignored: some
 * names are gone or were replaced). */
static void drop_slash_tree(__wasi_fd_t d) {
  static const char *names[] = {"file", "file2", "dir", "dir2", "new",
                                "symdir", "symfile", "dangling", "nowhere"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    if (__wasi_path_unlink_file(d, names[i]) != 0) __wasi_path_remove_directory(d, names[i]);
  }
  __wasi_fd_close(d);
  __wasi_path_remove_directory(root, "slashes.dir");
}

/* link, rename and symlink with and without a trailing slash on either path,
 * for every kind of thing each path can name (no official test has most of
 * these), each on a fresh tree. */
static void two_path_trailing_slashes(void) {
  static const char *olds[] = {"file", "file/", "dir", "dir/", "none", "none/", "symdir",
                               "symdir/", "symfile/"};
  static const char *news[] = {"new", "new/", "file2", "file2/", "dir2", "dir2/",
                               "symdir/", "symfile/", "dangling/"};
  char what[64];
  for (size_t i = 0; i < sizeof olds / sizeof *olds; i++)
    for (size_t j = 0; j < sizeof news / sizeof *news; j++) {
      __wasi_fd_t d = slash_tree();
      snprintf(what, sizeof what, "link %s %s", olds[i], news[j]);
      show(what, __wasi_path_link(d, 0, olds[i], d, news[j]));
      drop_slash_tree(d);
      d = slash_tree();
      snprintf(what, sizeof what, "rename %s %s", olds[i], news[j]);
      show(what, __wasi_path_rename(d, olds[i], d, news[j]));
      drop_slash_tree(d);
    }
  for (size_t j = 0; j < sizeof news / sizeof *news; j++) {
    __wasi_fd_t d = slash_tree();
    snprintf(what, sizeof what, "symlink t %s", news[j]);
    show(what, __wasi_path_symlink("t", d, news[j]));
    drop_slash_tree(d);
  }
}

static void path_open_preopen(void) {
  test = "path_open_preopen";
  __wasi_fdstat_t st;
  expect_ok("fdstat of the preopen", __wasi_fd_fdstat_get(root, &st));
  __wasi_rights_t base_needed =
      __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |
      __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN |
      __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE |
      __WASI_RIGHTS_PATH_RENAME_TARGET | __WASI_RIGHTS_PATH_SYMLINK |
      __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE |
      __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES |
      __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES;
  __wasi_rights_t inheriting_needed =
      base_needed | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
      __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_TELL |
      __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |
      __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_POLL_FD_READWRITE;
  expect_true("base rights", (st.fs_rights_base & base_needed) == base_needed);
  expect_true("inheriting rights",
              (st.fs_rights_inheriting & inheriting_needed) == inheriting_needed);
  __wasi_fd_t fd;
  __wasi_errno_t err = open_fd(root, 0, ".", 0, st.fs_rights_base, st.fs_rights_inheriting, 0,
                               &fd);
  if (err == 0) __wasi_fd_close(fd);
  expect_ok("open . with the preopen's rights", err);
  expect_ok("open . with no rights", try_open(root, 0, ".", 0, 0));
  expect_ok("open . DIRECTORY, no rights", try_open(root, 0, ".", __WASI_OFLAGS_DIRECTORY, 0));
  expect_ok("open . DIRECTORY, FD_READ",
            try_open(root, 0, ".", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READ));
  expect("open . DIRECTORY, FD_READ|FD_WRITE",
         try_open(root, 0, ".", __WASI_OFLAGS_DIRECTORY,
                  __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE),
         1, E(ISDIR));
}

static void path_symlink_trailing_slashes(void) {
  test = "path_symlink_trailing_slashes";
  __wasi_fd_t d = tmp_dir("symlink_slashes.dir");
  expect("dangling, new path with a slash", __wasi_path_symlink("source", d, "target/"), 1,
         E(NOENT));
  expect_ok("dangling, no slash", __wasi_path_symlink("source", d, "target"));
  __wasi_path_unlink_file(d, "target");
  __wasi_path_create_directory(d, "target");
  expect("over a directory, with a slash", __wasi_path_symlink("source", d, "target/"), 1,
         E(EXIST));
  expect("over a directory, no slash", __wasi_path_symlink("source", d, "target"), 1, E(EXIST));
  __wasi_path_remove_directory(d, "target");
  create_file(d, "target");
  expect("over a file, with a slash", __wasi_path_symlink("source", d, "target/"), 1,
         E(NOTDIR));
  expect("over a file, no slash", __wasi_path_symlink("source", d, "target"), 1, E(EXIST));
  __wasi_path_unlink_file(d, "target");
  drop_tmp_dir(d, "symlink_slashes.dir");
}

static void path_rename(void) {
  test = "path_rename_dir_trailing_slashes";
  __wasi_fd_t d = tmp_dir("rename.dir");
  __wasi_path_create_directory(d, "source");
  expect_ok("source/ -> target", __wasi_path_rename(d, "source/", d, "target"));
  expect_ok("target -> source/", __wasi_path_rename(d, "target", d, "source/"));
  expect_ok("source/ -> target/", __wasi_path_rename(d, "source/", d, "target/"));
  expect_ok("target -> source", __wasi_path_rename(d, "target", d, "source"));
  __wasi_path_remove_directory(d, "source");

  test = "path_rename";
  __wasi_path_create_directory(d, "source");
  expect_ok("a directory to a new name", __wasi_path_rename(d, "source", d, "target"));
  expect("the old name is gone", try_open(d, 0, "source", __WASI_OFLAGS_DIRECTORY, 0), 1,
         E(NOENT));
  expect_ok("the new name is there", try_open(d, 0, "target", __WASI_OFLAGS_DIRECTORY, 0));
  __wasi_path_create_directory(d, "source");
  expect_ok("a directory over an empty one", __wasi_path_rename(d, "source", d, "target"));
  __wasi_path_create_directory(d, "source");
  create_file(d, "target/file");
  expect("a directory over a non-empty one", __wasi_path_rename(d, "source", d, "target"), 1,
         E(NOTEMPTY));
  expect("a directory over a file", __wasi_path_rename(d, "source", d, "target/file"), 1,
         E(NOTDIR));
  __wasi_path_unlink_file(d, "target/file");
  __wasi_path_remove_directory(d, "source");
  __wasi_path_remove_directory(d, "target");
  create_file(d, "source");
  expect_ok("a file to a new name", __wasi_path_rename(d, "source", d, "target"));
  expect("the old name is gone", try_open(d, 0, "source", 0, 0), 1, E(NOENT));
  create_file(d, "source");
  expect_ok("a file over a file", __wasi_path_rename(d, "source", d, "target"));
  __wasi_path_unlink_file(d, "target");
  create_file(d, "source");
  __wasi_path_create_directory(d, "target");
  expect("a file over a directory", __wasi_path_rename(d, "source", d, "target"), 1, E(ISDIR));
  __wasi_path_remove_directory(d, "target");
  __wasi_path_unlink_file(d, "source");
  drop_tmp_dir(d, "rename.dir");
}

static void remove_and_unlink_trailing_slashes(void) {
  test = "remove_directory_trailing_slashes";
  expect_ok("mkdir", __wasi_path_create_directory(root, "dir.rm"));
  expect_ok("rmdir", __wasi_path_remove_directory(root, "dir.rm"));
  __wasi_path_create_directory(root, "dir.rm");
  expect_ok("rmdir with a slash", __wasi_path_remove_directory(root, "dir.rm/"));
  create_file(root, "file.rm");
  expect("rmdir a file", __wasi_path_remove_directory(root, "file.rm"), 1, E(NOTDIR));
  expect("rmdir a file/", __wasi_path_remove_directory(root, "file.rm/"), 1, E(NOTDIR));
  __wasi_path_unlink_file(root, "file.rm");

  test = "unlink_file_trailing_slashes";
  __wasi_fd_t d = tmp_dir("unlink.dir");
  __wasi_path_create_directory(d, "dir");
  expect("unlink a directory", __wasi_path_unlink_file(d, "dir"), 1, E(ISDIR));
  expect("unlink a directory/", __wasi_path_unlink_file(d, "dir/"), 1, E(ISDIR));
  __wasi_path_remove_directory(d, "dir");
  create_file(d, "file");
  expect("unlink a file/", __wasi_path_unlink_file(d, "file/"), 1, E(NOTDIR));
  expect_ok("unlink a file", __wasi_path_unlink_file(d, "file"));
  drop_tmp_dir(d, "unlink.dir");
}

static void interesting_paths(const char *preopen) {
  test = "interesting_paths";
  __wasi_fd_t d = tmp_dir("interesting.dir");
  __wasi_path_create_directory(d, "dir");
  __wasi_path_create_directory(d, "dir/nested");
  create_file(d, "dir/nested/file");
  expect("an absolute path", try_open(d, 0, "/dir/nested/file", 0, 0), 2, E(PERM),
         E(NOTCAPABLE));
  expect_ok("dots inside", try_open(d, 0, "dir/.//nested/../../dir/nested/../nested///./file",
                                    0, 0));
  static const char with_nul[] = "dir/nested/file\0";
  __wasi_fd_t fd;
  expect("a trailing NUL",
         (__wasi_errno_t)raw_path_open(d, 0, with_nul, sizeof with_nul - 1, 0, 0, 0, 0, &fd), 3, E(INVAL),
         E(ILSEQ), E(NOENT));
  expect("a file with a slash", try_open(d, 0, "dir/nested/file/", 0, 0), 2, E(NOTDIR),
         E(NOENT));
  expect("a file with slashes", try_open(d, 0, "dir/nested/file///", 0, 0), 2, E(NOTDIR),
         E(NOENT));
  expect_ok("a directory with a slash", try_open(d, 0, "dir/nested/", 0, 0));
  expect_ok("a directory with slashes", try_open(d, 0, "dir/nested///", 0, 0));
  char bad[256];
  snprintf(bad, sizeof bad, "dir/nested/../../../%s/dir/nested/file", preopen);
  expect("too many ..", try_open(d, 0, bad, 0, 0), 2, E(PERM), E(NOTCAPABLE));
  __wasi_path_unlink_file(d, "dir/nested/file");
  __wasi_path_remove_directory(d, "dir/nested");
  __wasi_path_remove_directory(d, "dir");
  drop_tmp_dir(d, "interesting.dir");
}

static void symlinks(void) {
  test = "nofollow_errors";
  __wasi_fd_t d = tmp_dir("nofollow.dir");
  __wasi_path_create_directory(d, "target");
  expect_ok("symlink to a directory", __wasi_path_symlink("target", d, "symlink"));
  expect("open it DIRECTORY, nofollow",
         try_open(d, 0, "symlink", __WASI_OFLAGS_DIRECTORY, 0), 2, E(LOOP), E(NOTDIR));
  expect("open it, nofollow", try_open(d, 0, "symlink", 0, 0), 2, E(LOOP), E(ACCES));
  expect_ok("open it DIRECTORY, follow",
            try_open(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "symlink", __WASI_OFLAGS_DIRECTORY, 0));
  __wasi_path_unlink_file(d, "symlink");
  __wasi_path_remove_directory(d, "target");
  create_file(d, "target");
  __wasi_path_symlink("target", d, "symlink");
  expect("to a file: DIRECTORY, nofollow",
         try_open(d, 0, "symlink", __WASI_OFLAGS_DIRECTORY, 0), 2, E(LOOP), E(NOTDIR));
  expect("to a file: nofollow", try_open(d, 0, "symlink", 0, 0), 1, E(LOOP));
  expect("to a file: DIRECTORY, follow",
         try_open(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "symlink", __WASI_OFLAGS_DIRECTORY, 0), 1,
         E(NOTDIR));
  expect_ok("to a file: follow",
            try_open(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "symlink", 0, 0)); /* symlink_create */
  __wasi_path_unlink_file(d, "target");
  __wasi_path_unlink_file(d, "symlink");

  test = "dangling_symlink";
  expect_ok("make one", __wasi_path_symlink("target", d, "dangling"));
  expect("open it DIRECTORY", try_open(d, 0, "dangling", __WASI_OFLAGS_DIRECTORY, 0), 2,
         E(NOTDIR), E(LOOP));
  expect("open it", try_open(d, 0, "dangling", 0, 0), 1, E(LOOP));
  __wasi_path_unlink_file(d, "dangling");

  test = "symlink_create";
  __wasi_errno_t err = __wasi_path_symlink("/", d, "symlink");
  expect_true("a symlink to / is refused", err != 0);
  if (err == 0) __wasi_path_unlink_file(d, "symlink");

  test = "readlink";
  create_file(d, "target");
  __wasi_path_symlink("target", d, "symlink");
  uint8_t buf[10] = {0};
  __wasi_size_t used = 0;
  expect_ok("into 10 bytes", __wasi_path_readlink(d, "symlink", buf, sizeof buf, &used));
  expect_true("6 bytes, the rest untouched",
              used == 6 && memcmp(buf, "target\0\0\0\0", 10) == 0);
  expect_ok("into 4 bytes", __wasi_path_readlink(d, "symlink", buf, 4, &used));
  expect_true("the first 4", used == 4 && memcmp(buf, "targ", 4) == 0);
  __wasi_path_unlink_file(d, "target");
  __wasi_path_unlink_file(d, "symlink");
  drop_tmp_dir(d, "nofollow.dir");
}

/* The rights tests: fd_fdstat_set_rights, truncation_rights and
 * path_open_read_write.  A host without rights (fd_fdstat_set_rights answers
 * NOTSUP) skips the first two, as the official programs do. */
static void rights(void) {
  test = "fd_fdstat_set_rights";
  __wasi_fd_t d = tmp_dir("rights.dir"), f;
  __wasi_fdstat_t st;
  __wasi_fd_fdstat_get(d, &st);
  __wasi_errno_t has = __wasi_fd_fdstat_set_rights(d, st.fs_rights_base, st.fs_rights_inheriting);
  if (has == E(NOTSUP)) {
    printf("%s: skipped: the host does not support rights\n", test);
  } else {
    __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |
                         __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL;
    expect_ok("create", open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, rw, 0, 0, &f));
    expect_ok("write", write_bytes(f, "\0\1\2\3", 4));
    __wasi_filesize_t pos;
    expect_ok("seek", __wasi_fd_seek(f, 0, __WASI_WHENCE_SET, &pos));
    char back[4];
    expect_ok("read", read_bytes(f, back, 4));
    __wasi_fd_fdstat_get(f, &st);
    expect_ok("drop FD_READ|FD_WRITE",
              __wasi_fd_fdstat_set_rights(f, st.fs_rights_base & ~(__wasi_rights_t)0x42,
                                          st.fs_rights_inheriting));
    __wasi_fd_fdstat_get(f, &st);
    expect_true("dropped, FD_SEEK kept",
                (st.fs_rights_base & 0x42) == 0 && (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
    expect("read without FD_READ", read_bytes(f, back, 4), 2, E(BADF), E(NOTCAPABLE));
    expect("write without FD_WRITE", write_bytes(f, "x", 1), 2, E(BADF), E(NOTCAPABLE));
    expect("take the rights back",
           __wasi_fd_fdstat_set_rights(f, st.fs_rights_base | rw, st.fs_rights_inheriting | rw),
           1, E(NOTCAPABLE));
    __wasi_fd_close(f);
    __wasi_path_unlink_file(d, "file");

    test = "truncation_rights";
    create_file(d, "file");
    __wasi_fd_fdstat_get(d, &st);
    expect_true("no FD_FILESTAT_SET_SIZE on a directory",
                (st.fs_rights_base & __WASI_RIGHTS_FD_FILESTAT_SET_SIZE) == 0);
    if (st.fs_rights_base & __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE) {
      expect_ok("open TRUNC", try_open(d, 0, "file", __WASI_OFLAGS_TRUNC, 0));
      expect_ok("drop inheriting FD_FILESTAT_SET_SIZE",
                __wasi_fd_fdstat_set_rights(
                    d, st.fs_rights_base,
                    st.fs_rights_inheriting & ~__WASI_RIGHTS_FD_FILESTAT_SET_SIZE));
      expect_ok("open TRUNC without it", try_open(d, 0, "file", __WASI_OFLAGS_TRUNC, 0));
      expect_ok("drop PATH_FILESTAT_SET_SIZE",
                __wasi_fd_fdstat_set_rights(
                    d, st.fs_rights_base & ~__WASI_RIGHTS_PATH_FILESTAT_SET_SIZE,
                    st.fs_rights_inheriting & ~__WASI_RIGHTS_FD_FILESTAT_SET_SIZE));
      __wasi_fd_fdstat_get(d, &st);
      expect_true("dropped", (st.fs_rights_base & __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE) == 0);
      expect("open TRUNC without PATH_FILESTAT_SET_SIZE",
             try_open(d, 0, "file", __WASI_OFLAGS_TRUNC, 0), 2, E(PERM), E(NOTCAPABLE));
    }
    __wasi_path_unlink_file(d, "file");
  }

  test = "path_open_read_write";
  create_file(d, "file");
  expect_ok("read-only", open_fd(d, 0, "file", 0, __WASI_RIGHTS_FD_READ, 0, 0, &f));
  __wasi_fd_fdstat_get(f, &st);
  expect_true("rights FD_READ, not FD_WRITE", (st.fs_rights_base & 0x42) == 0x2);
  expect("write it", write_bytes(f, "x", 1), 3, E(BADF), E(NOTCAPABLE), E(ACCES));
  __wasi_fd_close(f);
  expect_ok("write-only", open_fd(d, 0, "file", 0, __WASI_RIGHTS_FD_WRITE, 0, 0, &f));
  __wasi_fd_fdstat_get(f, &st);
  expect_true("rights FD_WRITE, not FD_READ", (st.fs_rights_base & 0x42) == 0x40);
  char c;
  expect("read it", read_bytes(f, &c, 1), 3, E(BADF), E(NOTCAPABLE), E(ACCES));
  expect_ok("write it", write_bytes(f, "x", 1));
  __wasi_fd_close(f);
  __wasi_path_unlink_file(d, "file");
  drop_tmp_dir(d, "rights.dir");
}

static void directory_fd_operations(void) {
  test = "dir_fd_op_failures";
  uint8_t name[256];
  __wasi_prestat_t ps;
  __wasi_fd_prestat_get(root, &ps);
  expect("prestat_dir_name into 0 bytes", __wasi_fd_prestat_dir_name(root, name, 0), 2,
         E(INVAL), E(NAMETOOLONG));
  expect_ok("prestat_dir_name into a larger buffer",
            __wasi_fd_prestat_dir_name(root, name, ps.u.dir.pr_name_len + 1));
  uint8_t buf[128];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_ciovec_t ciov = {buf, sizeof buf};
  __wasi_size_t n;
  __wasi_filesize_t pos;
  expect("fd_read", __wasi_fd_read(root, &iov, 1, &n), 3, E(ISDIR), E(BADF), E(NOTCAPABLE));
  expect("fd_pread", __wasi_fd_pread(root, &iov, 1, 0, &n), 3, E(ISDIR), E(BADF),
         E(NOTCAPABLE));
  expect("fd_write", __wasi_fd_write(root, &ciov, 1, &n), 3, E(ISDIR), E(BADF), E(NOTCAPABLE));
  expect("fd_pwrite", __wasi_fd_pwrite(root, &ciov, 1, 0, &n), 3, E(ISDIR), E(BADF),
         E(NOTCAPABLE));
  expect("fd_seek CUR", __wasi_fd_seek(root, 0, __WASI_WHENCE_CUR, &pos), 3, E(ISDIR), E(BADF),
         E(NOTCAPABLE));
  expect("fd_seek SET", __wasi_fd_seek(root, 0, __WASI_WHENCE_SET, &pos), 3, E(ISDIR), E(BADF),
         E(NOTCAPABLE));
  expect("fd_seek END", __wasi_fd_seek(root, 0, __WASI_WHENCE_END, &pos), 3, E(ISDIR), E(BADF),
         E(NOTCAPABLE));
  expect("fd_tell", __wasi_fd_tell(root, &pos), 3, E(ISDIR), E(BADF), E(NOTCAPABLE));
  expect("fd_allocate", __wasi_fd_allocate(root, 0, 1), 3, E(ISDIR), E(BADF), E(NOTCAPABLE));
  expect("fd_filestat_set_size", __wasi_fd_filestat_set_size(root, 0), 4, E(ISDIR), E(INVAL),
         E(BADF), E(NOTCAPABLE));

  test = "directory_seek";
  __wasi_path_create_directory(root, "seek.dir");
  __wasi_fd_t d;
  expect_ok("open with FD_SEEK",
            open_fd(root, 0, "seek.dir", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_SEEK, 0, 0, &d));
  expect("seek it", __wasi_fd_seek(d, 0, __WASI_WHENCE_CUR, &pos), 3, E(ISDIR), E(NOTCAPABLE),
         E(BADF));
  __wasi_fdstat_t st;
  __wasi_fd_fdstat_get(d, &st);
  expect_true("a directory without FD_SEEK", st.fs_filetype == __WASI_FILETYPE_DIRECTORY &&
                                                 (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK) == 0);
  __wasi_fd_close(d);
  __wasi_path_remove_directory(root, "seek.dir");
}

static void file_operations(void) {
  __wasi_fd_t f;
  __wasi_filestat_t st;
  test = "file_allocate";
  expect_ok("create", open_fd(root, 0, "allocate.file", __WASI_OFLAGS_CREAT,
                              __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE |
                                  __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_GET |
                                  __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE,
                              0, 0, &f));
  __wasi_errno_t err = __wasi_fd_allocate(f, 0, 100);
  if (err == 0) {
    __wasi_fd_filestat_get(f, &st);
    expect_true("size 100", st.size == 100);
    expect_ok("inside", __wasi_fd_allocate(f, 10, 10));
    __wasi_fd_filestat_get(f, &st);
    expect_true("still 100", st.size == 100);
    expect_ok("across the end", __wasi_fd_allocate(f, 90, 20));
    __wasi_fd_filestat_get(f, &st);
    expect_true("size 110", st.size == 110);
  } else {
    expect("fd_allocate", err, 1, E(NOTSUP));
  }
  test = "fd_advise";
  expect_ok("set size 100", __wasi_fd_filestat_set_size(f, 100));
  expect_ok("advise NORMAL", __wasi_fd_advise(f, 10, 50, __WASI_ADVICE_NORMAL));
  __wasi_fd_filestat_get(f, &st);
  expect_true("size unchanged", st.size == 100);
  __wasi_fd_close(f);
  __wasi_path_unlink_file(root, "allocate.file");

  test = "fstflags_validate";
  expect_ok("create", open_fd(root, 0, "fstflags.file", __WASI_OFLAGS_CREAT,
                              __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES, 0, 0,
                              &f));
  expect("MTIM|MTIM_NOW",
         __wasi_fd_filestat_set_times(f, 100, 200, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW),
         1, E(INVAL));
  expect("ATIM|ATIM_NOW",
         __wasi_fd_filestat_set_times(f, 100, 200, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
         1, E(INVAL));
  __wasi_fd_close(f);
  __wasi_path_unlink_file(root, "fstflags.file");
}

static __wasi_filesize_t tell(__wasi_fd_t fd) {
  __wasi_filesize_t pos = (__wasi_filesize_t)-1;
  __wasi_fd_tell(fd, &pos);
  return pos;
}

static __wasi_filesize_t seek(__wasi_fd_t fd, __wasi_filedelta_t by, __wasi_whence_t whence,
                              __wasi_errno_t *err) {
  __wasi_filesize_t pos = (__wasi_filesize_t)-1;
  *err = __wasi_fd_seek(fd, by, whence, &pos);
  return pos;
}

/* Offsets, append mode and fd flags: file_seek_tell, fd_flags_set,
 * pwrite-with-append (C), path_filestat, stat-dev-ino (C). */
static void file_offsets(void) {
  __wasi_fd_t d = tmp_dir("offsets.dir"), f;
  __wasi_errno_t err;
  uint8_t zeros[100] = {0}, ones[100], twos[100], back[100];
  memset(ones, 1, sizeof ones);
  memset(twos, 2, sizeof twos);
  __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
                       __WASI_RIGHTS_FD_TELL;

  test = "file_seek_tell";
  expect_ok("create", open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, rw, 0, 0, &f));
  expect_true("tell 0", tell(f) == 0);
  expect_ok("write 100", write_bytes(f, zeros, 100));
  expect_true("tell 100", tell(f) == 100);
  expect_true("seek -50 CUR gives 50", seek(f, -50, __WASI_WHENCE_CUR, &err) == 50 && err == 0);
  expect_true("seek 0 SET gives 0", seek(f, 0, __WASI_WHENCE_SET, &err) == 0 && err == 0);
  seek(f, 1000, __WASI_WHENCE_CUR, &err);
  expect_ok("seek past the end", err);
  seek(f, -2000, __WASI_WHENCE_CUR, &err);
  expect("seek before 0", err, 1, E(INVAL));
  seek(f, 0, __WASI_WHENCE_SET, &err);
  expect_ok("read 100", read_bytes(f, back, 100));
  expect_true("tell 100 after reading", tell(f) == 100);
  __wasi_fd_close(f);
  __wasi_path_unlink_file(d, "file");

  test = "fd_flags_set";
  expect_ok("create APPEND", open_fd(d, 0, "file", __WASI_OFLAGS_CREAT,
                                     rw | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS, 0,
                                     __WASI_FDFLAGS_APPEND, &f));
  write_bytes(f, zeros, 100);
  seek(f, 0, __WASI_WHENCE_SET, &err);
  expect_true("read back", read_bytes(f, back, 100) == 0 && memcmp(back, zeros, 100) == 0);
  seek(f, 0, __WASI_WHENCE_SET, &err);
  write_bytes(f, ones, 100);
  seek(f, 100, __WASI_WHENCE_SET, &err);
  expect_true("appended at the end", read_bytes(f, back, 100) == 0 && !memcmp(back, ones, 100));
  expect_ok("clear the flags", __wasi_fd_fdstat_set_flags(f, 0));
  seek(f, 0, __WASI_WHENCE_SET, &err);
  write_bytes(f, twos, 100);
  seek(f, 0, __WASI_WHENCE_SET, &err);
  expect_true("overwrote the start", read_bytes(f, back, 100) == 0 && !memcmp(back, twos, 100));
  __wasi_fd_close(f);
  __wasi_filestat_t st, st2;
  __wasi_path_filestat_get(d, 0, "file", &st);
  expect_true("size 200", st.size == 200);
  __wasi_path_unlink_file(d, "file");

  test = "pwrite-with-append";
  expect_ok("create APPEND|TRUNC, write-only",
            open_fd(d, 0, "file", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                    __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL, 0,
                    __WASI_FDFLAGS_APPEND, &f));
  write_bytes(f, zeros, 2);
  seek(f, 0, __WASI_WHENCE_SET, &err);
  write_bytes(f, zeros, 2);
  expect_true("offset 4", seek(f, 0, __WASI_WHENCE_CUR, &err) == 4);
  __wasi_ciovec_t iov = {zeros, 3};
  __wasi_size_t n = 0;
  expect_true("pwrite 3", __wasi_fd_pwrite(f, &iov, 1, 0, &n) == 0 && n == 3);
  expect_true("offset still 4", seek(f, 0, __WASI_WHENCE_CUR, &err) == 4);
  __wasi_filesize_t end = seek(f, 0, __WASI_WHENCE_END, &err);
  expect_true("end 4 or 7", end == 4 || end == 7);
  __wasi_fd_close(f);
  __wasi_path_unlink_file(d, "file");

  test = "path_filestat";
  __wasi_fdstat_t fst;
  err = open_fd(d, 0, "file", __WASI_OFLAGS_CREAT,
                __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_PATH_FILESTAT_GET, 0,
                __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC, &f);
  __wasi_fdflags_t flags = __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC;
  if (err == E(NOTSUP)) {
    flags = __WASI_FDFLAGS_APPEND;
    err = open_fd(d, 0, "file", __WASI_OFLAGS_CREAT,
                  __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, flags, &f);
  }
  expect_ok("create APPEND|SYNC", err);
  __wasi_fd_fdstat_get(f, &fst);
  expect_true("the flags stay", (fst.fs_flags & flags) == flags);
  __wasi_path_filestat_get(d, 0, "file", &st);
  expect_true("size 0", st.size == 0);
  __wasi_timestamp_t mtim = st.mtim - 100;
  expect_ok("set mtim", __wasi_path_filestat_set_times(d, 0, "file", 0, mtim,
                                                       __WASI_FSTFLAGS_MTIM));
  __wasi_path_filestat_get(d, 0, "file", &st);
  expect_true("mtim set", st.mtim == mtim);
  expect("MTIM|MTIM_NOW",
         __wasi_path_filestat_set_times(d, 0, "file", 0, mtim,
                                        __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW),
         1, E(INVAL));
  __wasi_path_filestat_get(d, 0, "file", &st);
  expect_true("mtim untouched", st.mtim == mtim);
  expect("ATIM|ATIM_NOW",
         __wasi_path_filestat_set_times(d, 0, "file", 0, 0,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
         1, E(INVAL));
  __wasi_fd_close(f);

  test = "stat-dev-ino";
  create_file(d, "other");
  __wasi_path_filestat_get(d, 0, "file", &st);
  __wasi_path_filestat_get(d, 0, "other", &st2);
  expect_true("same dev, other ino", st.dev == st2.dev && st.ino != st2.ino);
  __wasi_path_unlink_file(d, "other");

  test = "path_open_dirfd_not_dir";
  expect_ok("open a file", open_fd(d, 0, "file", 0, 0, 0, 0, &f));
  expect("open beneath it", try_open(f, 0, "foo", __WASI_OFLAGS_CREAT, 0), 2, E(NOTDIR),
         E(NOTCAPABLE));
  __wasi_fd_close(f);

  test = "renumber";
  __wasi_fd_t from, to;
  __wasi_fdstat_t a, b;
  expect_ok("open file", open_fd(d, 0, "file", 0, rw, 0, 0, &from));
  expect_ok("open other", open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, rw, 0, 0, &to));
  __wasi_fd_fdstat_get(from, &a);
  expect_ok("renumber", __wasi_fd_renumber(from, to));
  expect("close the old number", __wasi_fd_close(from), 1, E(BADF));
  __wasi_fd_fdstat_get(to, &b);
  expect_true("same fdstat", a.fs_filetype == b.fs_filetype && a.fs_flags == b.fs_flags &&
                                 a.fs_rights_base == b.fs_rights_base &&
                                 a.fs_rights_inheriting == b.fs_rights_inheriting);
  expect("renumber to a closed fd", __wasi_fd_renumber(to, from), 1, E(BADF));
  __wasi_fd_close(to);
  __wasi_path_unlink_file(d, "file");
  drop_tmp_dir(d, "offsets.dir");
}

/* symlink_loop, dangling_fd, path_open_nonblock, symlink_filestat,
 * path_exists, path_open_create_existing, path_open_missing,
 * remove_nonempty_directory, isatty, file_truncation. */
static void more_paths(void) {
  __wasi_fd_t d = tmp_dir("more.dir"), f;
  __wasi_filestat_t st, st2;
  test = "symlink_loop";
  __wasi_path_symlink("symlink", d, "symlink");
  expect("open a self-referencing symlink", try_open(d, 0, "symlink", 0, 0), 1, E(LOOP));
  __wasi_path_unlink_file(d, "symlink");

  test = "dangling_fd";
  create_file(d, "file");
  expect_ok("open", open_fd(d, 0, "file", 0, 0, 0, 0, &f));
  __wasi_fd_close(f);
  expect_ok("unlink", __wasi_path_unlink_file(d, "file"));
  create_file(d, "file");
  __wasi_path_unlink_file(d, "file");
  __wasi_path_create_directory(d, "sub");
  expect_ok("open a directory", try_open(d, 0, "sub", __WASI_OFLAGS_DIRECTORY, 0));
  expect_ok("remove it", __wasi_path_remove_directory(d, "sub"));
  expect_ok("make it again", __wasi_path_create_directory(d, "sub"));
  __wasi_path_remove_directory(d, "sub");

  test = "path_open_nonblock";
  expect_ok("open . NONBLOCK", open_fd(d, 0, ".", 0, 0, 0, __WASI_FDFLAGS_NONBLOCK, &f));
  __wasi_fd_close(f);

  test = "symlink_filestat";
  create_file(d, "file");
  __wasi_path_filestat_get(d, 0, "file", &st);
  expect_ok("symlink", __wasi_path_symlink("file", d, "symlink"));
  __wasi_path_filestat_get(d, 0, "symlink", &st2);
  __wasi_timestamp_t link_mtim = st2.mtim;
  expect_ok("set the link's mtim",
            __wasi_path_filestat_set_times(d, 0, "symlink", 0, link_mtim - 200,
                                           __WASI_FSTFLAGS_MTIM));
  __wasi_path_filestat_get(d, 0, "symlink", &st2);
  expect_true("the link's mtim changed", st2.mtim == link_mtim - 200);
  __wasi_path_filestat_get(d, 0, "file", &st2);
  expect_true("the file's did not", st2.mtim == st.mtim);
  __wasi_path_filestat_get(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "symlink", &st2);
  expect_true("followed: the file's", st2.mtim == st.mtim);
  expect_ok("set the file's through the link",
            __wasi_path_filestat_set_times(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "symlink", 0,
                                           link_mtim, __WASI_FSTFLAGS_MTIM));
  __wasi_path_filestat_get(d, 0, "file", &st2);
  expect_true("the file's changed", st2.mtim == link_mtim);
  __wasi_path_unlink_file(d, "symlink");
  __wasi_path_unlink_file(d, "file");

  test = "path_exists";
  __wasi_path_create_directory(d, "subdir");
  create_file(d, "subdir/file");
  __wasi_path_symlink("subdir/file", d, "link1");
  __wasi_path_symlink("subdir", d, "link2");
  static const struct {
    const char *path;
    __wasi_lookupflags_t follow;
    __wasi_filetype_t type;
  } kinds[] = {
      {"subdir", 0, __WASI_FILETYPE_DIRECTORY},
      {"subdir", 1, __WASI_FILETYPE_DIRECTORY},
      {"subdir/file", 0, __WASI_FILETYPE_REGULAR_FILE},
      {"subdir/file", 1, __WASI_FILETYPE_REGULAR_FILE},
      {"link1", 0, __WASI_FILETYPE_SYMBOLIC_LINK},
      {"link1", 1, __WASI_FILETYPE_REGULAR_FILE},
      {"link2", 0, __WASI_FILETYPE_SYMBOLIC_LINK},
      {"link2", 1, __WASI_FILETYPE_DIRECTORY},
  };
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    char what[64];
    snprintf(what, sizeof what, "type of %s%s", kinds[i].path, kinds[i].follow ? " (follow)" : "");
    expect_true(what, __wasi_path_filestat_get(d, kinds[i].follow, kinds[i].path, &st) == 0 &&
                          st.filetype == kinds[i].type);
  }
  __wasi_path_unlink_file(d, "link1");
  __wasi_path_unlink_file(d, "link2");
  __wasi_path_unlink_file(d, "subdir/file");
  __wasi_path_remove_directory(d, "subdir");

  test = "path_open_create_existing";
  create_file(d, "file");
  expect("CREAT|EXCL", try_open(d, 0, "file", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0), 1,
         E(EXIST));
  __wasi_path_unlink_file(d, "file");
  test = "path_open_missing";
  expect("open a missing file", try_open(d, 0, "file", 0, 0), 1, E(NOENT));

  test = "remove_nonempty_directory";
  __wasi_path_create_directory(d, "dir");
  __wasi_path_create_directory(d, "dir/nested");
  expect("rmdir", __wasi_path_remove_directory(d, "dir"), 1, E(NOTEMPTY));
  expect_ok("rmdir the inner", __wasi_path_remove_directory(d, "dir/nested"));
  expect_ok("rmdir the outer", __wasi_path_remove_directory(d, "dir"));

  test = "isatty";
  expect_ok("create", open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, 0, 0, 0, &f));
  __wasi_fdstat_t fst;
  __wasi_fd_fdstat_get(f, &fst);
  expect_true("a file is no tty", fst.fs_filetype != __WASI_FILETYPE_CHARACTER_DEVICE);
  __wasi_fd_close(f);
  __wasi_path_unlink_file(d, "file");

  test = "file_truncation";
  static const char text[] = "this content will be truncated!";
  expect_ok("create", open_fd(d, 0, "test.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, 0,
                              0, &f));
  expect_ok("write", write_bytes(f, text, sizeof text - 1));
  __wasi_fd_close(f);
  expect_ok("open CREAT|TRUNC",
            open_fd(d, 0, "test.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                    __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &f));
  uint8_t buf[100];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_size_t n = 99;
  expect_true("empty", __wasi_fd_read(f, &iov, 1, &n) == 0 && n == 0);
  __wasi_fd_close(f);
  __wasi_path_unlink_file(d, "test.txt");
  drop_tmp_dir(d, "more.dir");
}

/* One fd_readdir of 256 bytes from `cookie`: the entries' names (up to 8 are
 * kept), types, inodes and next cookies.  Returns the count; *eof when the
 * buffer was not filled. */
struct entry {
  char name[32];
  __wasi_filetype_t type;
  __wasi_inode_t ino;
  __wasi_dircookie_t next;
};
static size_t readdir_page(__wasi_fd_t d, __wasi_dircookie_t cookie, struct entry *out,
                           size_t cap, int *eof) {
  uint8_t buf[256];
  __wasi_size_t used = 0;
  if (__wasi_fd_readdir(d, buf, sizeof buf, cookie, &used) != 0) {
    *eof = 1;
    return 0;
  }
  *eof = used < sizeof buf;
  size_t count = 0;
  for (size_t at = 0; at + sizeof(__wasi_dirent_t) <= used;) {
    __wasi_dirent_t de;
    memcpy(&de, buf + at, sizeof de);
    if (at + sizeof de + de.d_namlen > used) break; /* cut off: not a whole entry */
    if (count < cap) {
      struct entry *e = &out[count];
      snprintf(e->name, sizeof e->name, "%.*s", (int)de.d_namlen, (const char *)buf + at + sizeof de);
      e->type = de.d_type;
      e->ino = de.d_ino;
      e->next = de.d_next;
    }
    count++;
    at += sizeof de + de.d_namlen;
  }
  return count;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void fd_readdir(void) {
  test = "fd_readdir";
  __wasi_fd_t d = tmp_dir("readdir.dir");
  __wasi_filestat_t st;
  __wasi_fd_filestat_get(d, &st);
  struct entry e[8];
  int eof;
  size_t n = readdir_page(d, 0, e, 8, &eof);
  qsort(e, n < 8 ? n : 8, sizeof *e, by_name);
  expect_true("empty: . and .., whole", eof && n == 2 && strcmp(e[0].name, ".") == 0 &&
                                            strcmp(e[1].name, "..") == 0);
  expect_true("both directories, . is the directory",
              e[0].type == __WASI_FILETYPE_DIRECTORY && e[1].type == __WASI_FILETYPE_DIRECTORY &&
                  e[0].ino == st.ino);
  __wasi_fd_t f;
  open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_FILESTAT_GET, 0, 0, &f);
  __wasi_fd_filestat_get(f, &st);
  __wasi_fd_close(f);
  n = readdir_page(d, 0, e, 8, &eof);
  expect_true("three entries", eof && n == 3);
  __wasi_dircookie_t after_second = e[1].next;
  char last[32];
  snprintf(last, sizeof last, "%s", e[2].name);
  qsort(e, 3, sizeof *e, by_name);
  expect_true("the file", strcmp(e[2].name, "file") == 0 &&
                              e[2].type == __WASI_FILETYPE_REGULAR_FILE && e[2].ino == st.ino);
  n = readdir_page(d, after_second, e, 8, &eof);
  expect_true("from the second's cookie: the last", eof && n == 1 && strcmp(e[0].name, last) == 0);
  __wasi_path_unlink_file(d, "file");
  char name[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(name, sizeof name, "file.%d", i);
    try_open(d, 0, name, __WASI_OFLAGS_CREAT, 0);
  }
  size_t total = 0;
  __wasi_dircookie_t cookie = 0;
  for (int pages = 0; pages < 10000; pages++) {
    struct entry page[16];
    n = readdir_page(d, cookie, page, 16, &eof);
    total += n;
    if (eof || n == 0 || n > 16) break;
    cookie = page[n - 1].next;
  }
  expect_true("1000 files and . and .., page by page", total == 1002);
  for (int i = 0; i < 1000; i++) {
    snprintf(name, sizeof name, "file.%d", i);
    __wasi_path_unlink_file(d, name);
  }
  drop_tmp_dir(d, "readdir.dir");
}

/* stdio: each of 0, 1, 2 renumbered onto a file's fd leaves its own number
 * closed.  Last: stdout is gone after it, so the results are written through
 * the fd that took stdout's place. */
static void stdio(void) {
  test = "stdio";
  __wasi_fd_t d = tmp_dir("stdio.dir"), to[3];
  int ok[3];
  fflush(stdout);
  for (__wasi_fd_t from = 0; from < 3; from++) {
    open_fd(d, 0, "file", __WASI_OFLAGS_CREAT, 0, 0, 0, &to[from]);
    __wasi_fdstat_t st;
    ok[from] = __wasi_fd_renumber(from, to[from]) == 0 &&
               __wasi_fd_fdstat_get(to[from], &st) == 0 && __wasi_fd_fdstat_get(from, &st) != 0;
    __wasi_path_unlink_file(d, "file");
  }
  char out[256];
  int len = snprintf(out, sizeof out, "stdio: stdin: %s\nstdio: stdout: %s\nstdio: stderr: %s\n",
                     ok[0] ? "ok" : "FAIL", ok[1] ? "ok" : "FAIL", ok[2] ? "ok" : "FAIL");
  __wasi_ciovec_t iov = {(const uint8_t *)out, (size_t)len};
  __wasi_size_t n;
  __wasi_fd_write(to[1], &iov, 1, &n);
  __wasi_fd_close(d);
  __wasi_path_remove_directory(root, "stdio.dir");
}

static void fds(void) {
  test = "sock_shutdown-not_sock";
  expect("shutdown stdout", __wasi_sock_shutdown(1, __WASI_SDFLAGS_RD), 1, E(NOTSOCK));
  test = "sock_shutdown-invalid_fd";
  expect("shutdown a closed fd", __wasi_sock_shutdown(1234, __WASI_SDFLAGS_RD), 1, E(BADF));
  test = "fd_write-to-invalid-fd";
  __wasi_size_t n;
  expect("fd -31337", __wasi_fd_write((__wasi_fd_t)-31337, NULL, 0, &n), 1, E(BADF));
  test = "clock_time_get";
  __wasi_timestamp_t t0, t1;
  expect_ok("precision 1", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t0));
  expect_ok("precision 0", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 0, &t0));
  __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 0, &t1);
  expect_true("monotonic", t0 <= t1);

  /* overwrite_preopen, then close_preopen: on a copy of the preopen, so the
   * rest of the program keeps its directory. */
  test = "overwrite_preopen";
  __wasi_fd_t d = tmp_dir("renumber.dir"), copy;
  __wasi_filestat_t before, after;
  __wasi_fd_filestat_get(d, &before);
  expect_ok("open a second handle on the preopen",
            open_fd(root, 0, ".", __WASI_OFLAGS_DIRECTORY, TMP_BASE, TMP_INHERITING, 0, &copy));
  expect_ok("renumber over it", __wasi_fd_renumber(d, copy));
  expect_ok("stat the renumbered fd", __wasi_fd_filestat_get(copy, &after));
  expect_true("same file", before.ino == after.ino && before.dev == after.dev);
  __wasi_fdstat_t fst;
  expect("the old number is closed", __wasi_fd_fdstat_get(d, &fst), 1, E(BADF));
  test = "close_preopen";
  expect_ok("close it", __wasi_fd_close(copy));
  expect("closed", __wasi_fd_fdstat_get(copy, &fst), 1, E(BADF));
  expect_ok("remove the scratch directory", __wasi_path_remove_directory(root, "renumber.dir"));
}

/* Where a read-only grant refuses, wasmtime answers PERM and wasmaot
 * NOTCAPABLE (docs/RATIONALE.md): printed as one word. */
static void show_refusal(const char *what, __wasi_errno_t got) {
  if (got == E(PERM) || got == E(NOTCAPABLE))
    printf("readonly: %s: refused\n", what);
  else
    printf("readonly: %s: errno %d\n", what, got);
}

static __wasi_fd_t find_preopen(const char *want);

/* The read-only preopen argv[2] (an empty directory): what it refuses. */
static void readonly_grant(const char *name) {
  __wasi_fd_t ro = find_preopen(name);
  if (ro == (__wasi_fd_t)-1) {
    printf("no preopen named %s\n", name);
    return;
  }
  __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE;
  show_refusal("open . DIRECTORY, FD_READ", try_open(ro, 0, ".", __WASI_OFLAGS_DIRECTORY, 2));
  show_refusal("open . DIRECTORY, FD_READ|FD_WRITE",
               try_open(ro, 0, ".", __WASI_OFLAGS_DIRECTORY, rw));
  show_refusal("open ., FD_READ|FD_WRITE", try_open(ro, 0, ".", 0, rw));
  show_refusal("open . DIRECTORY|CREAT", try_open(ro, 0, ".", 3, 0));
  show_refusal("create a file", try_open(ro, 0, "new", __WASI_OFLAGS_CREAT, 0));
  show_refusal("mkdir", __wasi_path_create_directory(ro, "new"));
  show_refusal("symlink", __wasi_path_symlink("t", ro, "new"));
  show_refusal("symlink new/", __wasi_path_symlink("t", ro, "new/"));
  show_refusal("link . new/", __wasi_path_link(ro, 0, ".", ro, "new/"));
}

/* The preopen named `want` (fd_prestat_get from 3 until BADF), or -1. */
static __wasi_fd_t find_preopen(const char *want) {
  for (__wasi_fd_t fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t err = __wasi_fd_prestat_get(fd, &ps);
    if (err == E(BADF)) break;
    char name[256] = {0};
    if (err == 0 && ps.u.dir.pr_name_len < sizeof name &&
        __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len) == 0 &&
        strcmp(name, want) == 0)
      return fd;
  }
  return (__wasi_fd_t)-1;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  root = find_preopen(argv[1]);
  if (root == (__wasi_fd_t)-1) {
    printf("no preopen named %s\n", argv[1]);
    return 1;
  }
  path_link();
  two_path_trailing_slashes();
  path_open_preopen();
  path_symlink_trailing_slashes();
  path_rename();
  remove_and_unlink_trailing_slashes();
  interesting_paths(argv[1]);
  symlinks();
  rights();
  directory_fd_operations();
  file_operations();
  file_offsets();
  fds();
  more_paths();
  fd_readdir();
  readonly_grant(argv[2]);
  stdio();
  return 0;
}
