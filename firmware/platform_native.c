/* Platform services of the native (Linux) build, used by the C tests and as the speed reference. */
#include "dtls_shim.h"

#include <sys/random.h>
#include <time.h>

int dtls_platform_random(unsigned char *out, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n <= 0) return -1;
        out += n;
        len -= (size_t) n;
    }
    return 0;
}

double dtls_platform_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

double dtls_platform_unix_time(void)
{
    return (double) time(NULL);
}
