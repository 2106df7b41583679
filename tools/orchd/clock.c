/* The daemon's clock, apart from main.c so that every other source builds
 * into the fuzz harness (tests/fuzz) as it is. */
#include "orchd.h"
#include "util.h"

int64_t orchd_now(const struct orchd *d)
{
    return oc_now_real_ns() + d->now_offset_ns;
}
