/* Prints "CODE TEXT" for every status code and one past the last, for the
 * check that docs/errors.md, status.h and orch_strerror agree. */
#include <stdio.h>

#include "errors.h"

int main(void)
{
    for (int c = ORCH_OK; c <= ORCH_E_FAILED + 1; c++)
        printf("%d %s\n", c, orch_strerror((orch_status)c));
    return 0;
}
