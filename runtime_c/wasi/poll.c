/* poll_oneoff: wait for clock and fd subscriptions.
 *
 * witx: https://github.com/WebAssembly/WASI/blob/main/legacy/preview1/docs.md#-poll_oneoffin-constpointersubscription-out-pointerevent-nsubscriptions-size---resultsize-errno
 *
 * One ppoll(2) waits for every fd subscription and the earliest clock
 * deadline.  Regular files are always ready (as in wasmtime and POSIX).
 * Events are written in subscription order, one per subscription that is
 * ready when the wait ends.
 */
#include "wasi_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum { SUB_CLOCK, SUB_FD_READ, SUB_FD_WRITE };

struct sub {
  uint64_t userdata;
  uint8_t tag;
  uint64_t deadline;        /* clock: monotonic nanoseconds */
  struct wasi_fd *fd;       /* fd subscriptions */
  int regular;              /* a regular file: always ready */
  int pollidx;              /* index in the pollfd array, or -1 */
};

static uint64_t monotonic_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t realtime_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a + b < a ? UINT64_MAX : a + b;
}

/* Reads subscription i into s: 0 or an errno. */
static int32_t parse_sub(const uint8_t *in, struct sub *s, uint64_t now) {
  s->userdata = wasi_get_u64(in);
  s->tag = in[8];
  s->pollidx = -1;
  s->fd = NULL;
  s->regular = 0;
  if (s->tag == SUB_CLOCK) {
    uint32_t id = wasi_get_u32(in + 16);
    uint64_t timeout = wasi_get_u64(in + 24);
    uint16_t flags = wasi_get_u16(in + 40);
    if (flags & ~WASMAOT_WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) return E(INVAL);
    int abs = flags & WASMAOT_WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    if (id == WASMAOT_WASI_CLOCK_MONOTONIC) {
      s->deadline = abs ? timeout : sat_add(now, timeout);
    } else if (id == WASMAOT_WASI_CLOCK_REALTIME) {
      /* An absolute realtime deadline becomes a delay from now (a later
       * change of the wall clock does not move it: as wasmtime). */
      uint64_t rnow = realtime_now();
      s->deadline = abs ? (timeout > rnow ? sat_add(now, timeout - rnow) : now) : sat_add(now, timeout);
    } else {
      return E(INVAL); /* the CPU-time clocks cannot be waited on (as wasmtime) */
    }
    return 0;
  }
  if (s->tag != SUB_FD_READ && s->tag != SUB_FD_WRITE) return E(INVAL);
  int32_t fd = (int32_t)wasi_get_u32(in + 16);
  unsigned kinds = s->tag == SUB_FD_READ
                       ? WASI_KIND(WASI_KIND_STDIN) | WASI_KIND(WASI_KIND_FILE) | WASI_KINDS_SOCKETS
                       : WASI_KIND(WASI_KIND_STDOUT) | WASI_KIND(WASI_KIND_STDERR) |
                             WASI_KIND(WASI_KIND_FILE) | WASI_KIND(WASI_KIND_SOCKET);
  int32_t err = wasi_fd_get(fd, kinds, 0, &s->fd);
  if (err) return err;
  if (s->fd->kind == WASI_KIND_FILE) {
    struct stat st;
    s->regular = fstat(s->fd->host, &st) == 0 && S_ISREG(st.st_mode);
  }
  return 0;
}

/* poll_oneoff(in: ConstPointer<subscription>, out: Pointer<event>, nsubscriptions: size) -> (size)
 * Waits until at least one subscription is ready, then writes one event per
 * ready subscription (32 bytes each at `out`: userdata u64 @0, error u16 @8,
 * type u8 @10, nbytes u64 @16, flags u16 @24) and stores their count.
 *   clock     (id realtime or monotonic, timeout ns, ABSTIME flag): ready at
 *             the deadline.  precision is ignored.
 *   fd_read   stdin, files, sockets (a listener: a connection is waiting).
 *   fd_write  stdout, stderr, files, sockets.
 * For fd events nbytes is 1 (wasmtime's answer: "some"), the bytes queued on
 * a socket; flags has HANGUP when the peer hung up or a file is read to its
 * end.  An fd error (POLLERR) sets the event's error to IO.
 *   INVAL  nsubscriptions is 0 (nothing would ever end the wait), an unknown
 *          tag, clock id or flag.
 *   BADF   a subscribed fd is not open or cannot be polled that way (a
 *          directory, stdin for writing...): the whole call fails, as wasmtime.
 *   FAULT  the subscription or event array, or nevents_ptr, is outside memory.
 *   NOMEM  too many subscriptions for the host's memory. */
int32_t wasmaot_wasi_poll_oneoff(struct wasmaot_vmctx *vmctx, int32_t in, int32_t out,
                                 int32_t nsubscriptions, int32_t nevents_ptr) {
  uint32_t n = (uint32_t)nsubscriptions;
  if (n == 0) return E(INVAL);
  const uint8_t *subs = wasi_guest_range(vmctx, (uint32_t)in, (uint64_t)n * WASMAOT_WASI_SUBSCRIPTION_SIZE);
  uint8_t *events = wasi_guest_range(vmctx, (uint32_t)out, (uint64_t)n * WASMAOT_WASI_EVENT_SIZE);
  if (subs == NULL || events == NULL || wasi_guest_range(vmctx, (uint32_t)nevents_ptr, 4) == NULL)
    return E(FAULT);
  struct sub *s = calloc(n, sizeof *s);
  struct pollfd *pfd = calloc(n, sizeof *pfd);
  int32_t err = 0;
  if (s == NULL || pfd == NULL) {
    err = E(NOMEM);
    goto done;
  }
  uint64_t now = monotonic_now();
  uint64_t deadline = UINT64_MAX; /* the earliest clock */
  int npoll = 0, ready_now = 0;
  for (uint32_t i = 0; i < n; i++) {
    err = parse_sub(subs + (uint64_t)i * WASMAOT_WASI_SUBSCRIPTION_SIZE, &s[i], now);
    if (err) goto done;
    if (s[i].tag == SUB_CLOCK) {
      if (s[i].deadline < deadline) deadline = s[i].deadline;
    } else if (s[i].regular) {
      ready_now = 1;
    } else {
      s[i].pollidx = npoll;
      pfd[npoll].fd = s[i].fd->host;
      pfd[npoll].events = s[i].tag == SUB_FD_READ ? POLLIN : POLLOUT;
      npoll++;
    }
  }
  for (;;) {
    struct timespec ts, *tsp = NULL;
    now = monotonic_now();
    if (ready_now || deadline <= now) {
      ts.tv_sec = 0, ts.tv_nsec = 0, tsp = &ts;
    } else if (deadline != UINT64_MAX) {
      uint64_t d = deadline - now;
      ts.tv_sec = (time_t)(d / 1000000000u), ts.tv_nsec = (long)(d % 1000000000u), tsp = &ts;
    }
    int r = ppoll(pfd, (nfds_t)npoll, tsp, NULL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      err = wasi_errno_from_host(errno);
      goto done;
    }
    now = monotonic_now();
    if (r > 0 || ready_now || deadline <= now) break;
    /* ppoll may wake a little early (timer slack the other way): wait again. */
  }
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *ev = events + (uint64_t)count * WASMAOT_WASI_EVENT_SIZE;
    uint16_t error = 0, flags = 0;
    uint64_t nbytes = 0;
    if (s[i].tag == SUB_CLOCK) {
      if (s[i].deadline > now) continue;
    } else if (s[i].regular) {
      nbytes = 1;
      if (s[i].tag == SUB_FD_READ) {
        struct stat st;
        off_t pos = lseek(s[i].fd->host, 0, SEEK_CUR);
        if (fstat(s[i].fd->host, &st) == 0 && pos >= st.st_size)
          flags |= WASMAOT_WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP;
      }
    } else {
      short re = pfd[s[i].pollidx].revents;
      if (re == 0) continue;
      nbytes = 1;
      if (re & POLLHUP) flags |= WASMAOT_WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP;
      if (re & (POLLERR | POLLNVAL)) error = E(IO);
      int avail;
      if (s[i].fd->kind == WASI_KIND_SOCKET && s[i].tag == SUB_FD_READ &&
          ioctl(s[i].fd->host, FIONREAD, &avail) == 0)
        nbytes = (uint64_t)(avail > 0 ? avail : 0);
    }
    memset(ev, 0, WASMAOT_WASI_EVENT_SIZE);
    wasi_put_u64(ev + 0, s[i].userdata);
    wasi_put_u16(ev + 8, error);
    ev[10] = s[i].tag; /* eventtype numbers = subscription tags */
    wasi_put_u64(ev + 16, nbytes);
    wasi_put_u16(ev + 24, flags);
    count++;
  }
  wasi_store_u32(vmctx, (uint32_t)nevents_ptr, count);
done:
  free(s);
  free(pfd);
  return err;
}
