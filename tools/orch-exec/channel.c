/* A JSON frame to the engine on the output channel: what the host slots
 * (ctx_ops.c), the artifact slots (artifacts.c) and the operations send.
 * A file of its own so those can share it without calling each other. */
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "exec/frame.h"

void xe_send_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s)
        oc_frame_write(xe_out_fd, OC_FRAME_JSON, s, strlen(s));
    free(s);
}
