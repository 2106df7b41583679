#ifndef OC_ERRORS_H
#define OC_ERRORS_H
#include <orch/status.h>
/* Public: static text for a status code ("unknown error" for others). */
const char *orch_strerror(orch_status code);
/* Public: whether a step attempt failing with code may succeed on retry. */
int orch_status_is_retryable(orch_status code);
#endif
