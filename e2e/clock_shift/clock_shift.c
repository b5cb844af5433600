/* A test-only LD_PRELOAD library: shifts the wall clock (CLOCK_REALTIME, gettimeofday, time) of
   one process by E2E_CLOCK_SHIFT_S seconds; monotonic clocks are left alone. The e2e tests use
   it to run a region's node "in the past" — as a node that wrote its records on those days —
   without any switch in the product. Built by the test that needs it (cc -shared -fPIC). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long shift_s(void) {
  static int read = 0;
  static long shift = 0;
  if (!read) {
    const char *s = getenv("E2E_CLOCK_SHIFT_S");
    shift = s ? atol(s) : 0;
    read = 1;
  }
  return shift;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
  static int (*real)(clockid_t, struct timespec *) = 0;
  if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  int r = real(id, ts);
  if (r == 0 && ts && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += shift_s();
  return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
  static int (*real)(struct timeval *, void *) = 0;
  if (!real) real = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
  int r = real(tv, tz);
  if (r == 0 && tv) tv->tv_sec += shift_s();
  return r;
}

time_t time(time_t *t) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (t) *t = ts.tv_sec;
  return ts.tv_sec;
}
