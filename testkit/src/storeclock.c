/* The store's wall clock under the harness's control: an LD_PRELOAD library for redis-server
 * (testkit's StoreClock). libfaketime cannot be used: it deadlocks with jemalloc, which
 * Debian's redis-server links. Wall time is anchor_fake + (real - anchor_real) * rate, read
 * from a shared control file (seqlock) named by BATON_STORE_CLOCK; other clocks are real.
 * The real clocks are read with the system call, so nothing here needs dlsym or malloc. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct ctl {
    volatile uint64_t seq;
    volatile int64_t anchor_real;
    volatile int64_t anchor_fake;
    volatile double rate;
};

static struct ctl *ctl;

__attribute__((constructor)) static void storeclock_init(void) {
    const char *path = getenv("BATON_STORE_CLOCK");
    if (!path) return;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    void *m = mmap(0, sizeof(struct ctl), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m != MAP_FAILED) ctl = m;
}

static int64_t real_ns(void) {
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t wall_ns(void) {
    int64_t r = real_ns();
    if (!ctl) return r;
    for (;;) {
        uint64_t s = ctl->seq;
        __sync_synchronize();
        int64_t ar = ctl->anchor_real, af = ctl->anchor_fake;
        double rate = ctl->rate;
        __sync_synchronize();
        if ((s & 1) || ctl->seq != s) continue;
        if (rate <= 0) return r;
        return af + (int64_t)((double)(r - ar) * rate);
    }
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    if (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE)
        return (int)syscall(SYS_clock_gettime, id, ts);
    int64_t w = wall_ns();
    ts->tv_sec = w / 1000000000LL;
    ts->tv_nsec = w % 1000000000LL;
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    int64_t w = wall_ns();
    if (tv) {
        tv->tv_sec = w / 1000000000LL;
        tv->tv_usec = (w % 1000000000LL) / 1000;
    }
    return 0;
}

time_t time(time_t *t) {
    time_t s = (time_t)(wall_ns() / 1000000000LL);
    if (t) *t = s;
    return s;
}
