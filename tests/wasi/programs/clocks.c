/* Monotonic time never goes back and advances over a sleep; realtime is
 * plausible. Prints verdicts only, so the output is deterministic. */
#include <stdio.h>
#include <time.h>

static long long ns(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return -1;
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
  long long prev = ns(CLOCK_MONOTONIC), backwards = 0;
  for (int i = 0; i < 10000; i++) {
    long long now = ns(CLOCK_MONOTONIC);
    if (now < prev) backwards++;
    prev = now;
  }
  printf("monotonic readable: %s\n", prev >= 0 ? "yes" : "no");
  printf("monotonic went backwards: %lld times\n", backwards);
  long long before = ns(CLOCK_MONOTONIC);
  struct timespec nap = {0, 20 * 1000000};
  nanosleep(&nap, NULL);
  long long slept = ns(CLOCK_MONOTONIC) - before;
  printf("sleep of 20 ms took >= 20 ms: %s, < 5 s: %s\n", slept >= 20000000 ? "yes" : "no",
         slept < 5000000000LL ? "yes" : "no");
  long long real = ns(CLOCK_REALTIME) / 1000000000LL;
  printf("realtime after 2024: %s, before 2100: %s\n", real > 1704067200LL ? "yes" : "no",
         real < 4102444800LL ? "yes" : "no");
  struct timespec res;
  printf("monotonic resolution <= 1 ms: %s\n",
         clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec <= 1000000
             ? "yes" : "no");
  return 0;
}
