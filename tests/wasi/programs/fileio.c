/* Writes, reads, seeks and tells on a file in the directory argv[1],
 * including offsets past 4 GiB (a sparse file), then removes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      printf("failed at line %d: %s\n", __LINE__, strerror(errno)); \
      return 1;                                                      \
    }                                                                \
  } while (0)

int main(int argc, char **argv) {
  char path[512], buf[64];
  CHECK(argc == 2);
  snprintf(path, sizeof path, "%s/data.bin", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(write(fd, "hello, world\n", 13) == 13);
  printf("tell after write: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("seek set 7: %lld\n", (long long)lseek(fd, 7, SEEK_SET));
  ssize_t n = read(fd, buf, sizeof buf);
  printf("read %zd: %.*s", n, (int)n, buf);
  printf("seek cur -6: %lld\n", (long long)lseek(fd, -6, SEEK_CUR));
  printf("seek end -1: %lld\n", (long long)lseek(fd, -1, SEEK_END));
  CHECK(pwrite(fd, "W", 1, 7) == 1);
  CHECK(pread(fd, buf, 5, 7) == 5);
  printf("pread after pwrite: %.5s\n", buf);
  printf("tell unchanged by pread/pwrite: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));

  const off_t big = 5LL << 30;  /* 5 GiB: beyond any 32-bit offset */
  printf("seek 5 GiB: %lld\n", (long long)lseek(fd, big, SEEK_SET));
  CHECK(write(fd, "END", 3) == 3);
  printf("tell: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  struct stat st;
  CHECK(fstat(fd, &st) == 0);
  printf("size: %lld\n", (long long)st.st_size);
  CHECK(pread(fd, buf, 3, big) == 3);
  printf("pread at 5 GiB: %.3s\n", buf);
  CHECK(pread(fd, buf, 4, big - 2) == 4);
  printf("hole reads zeros: %s\n", buf[0] == 0 && buf[1] == 0 ? "yes" : "no");
  printf("seek negative fails: %s\n", lseek(fd, -1, SEEK_SET) == -1 ? "yes" : "no");
  CHECK(ftruncate(fd, 4) == 0);
  CHECK(fstat(fd, &st) == 0);
  printf("size after truncate: %lld\n", (long long)st.st_size);
  CHECK(close(fd) == 0);
  CHECK(unlink(path) == 0);
  printf("exists after unlink: %s\n", access(path, F_OK) == 0 ? "yes" : "no");
  return 0;
}
