/* Preloaded before libfaketime for the clock drill (tests/e2e/test_clock_drill.py).

   libfaketime 0.9.10 (Debian 12) breaks clock_nanosleep() on an absolute CLOCK_MONOTONIC
   deadline when the monotonic clock is not faked (FAKETIME_DONT_FAKE_MONOTONIC=1): it
   hands the kernel a negative time and the call fails with EINVAL
   (wolfcw/libfaketime#426). Python 3.11's time.sleep() sleeps exactly that way, so every
   sleep of a faked process raised OSError. The drill fakes only the wall clock: sleeps on
   the monotonic and boot clocks go straight to the kernel here, the rest to libfaketime. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock_id, int flags, const struct timespec *request, struct timespec *remain)
{
    static int (*next)(clockid_t, int, const struct timespec *, struct timespec *);

    if (clock_id == CLOCK_MONOTONIC || clock_id == CLOCK_BOOTTIME) {
        /* clock_nanosleep() returns the error number itself, not -1 and errno */
        return syscall(SYS_clock_nanosleep, clock_id, flags, request, remain) == 0 ? 0 : errno;
    }
    if (next == NULL)
        next = (int (*)(clockid_t, int, const struct timespec *, struct timespec *))dlsym(RTLD_NEXT, "clock_nanosleep");
    return next(clock_id, flags, request, remain);
}
