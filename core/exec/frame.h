/* Frames on the engine <-> executor pipes: [u8 type][u32 length LE][payload]. */
#ifndef OC_EXEC_FRAME_H
#define OC_EXEC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

#define OC_FRAME_JSON 'J'
#define OC_FRAME_STDOUT 'O'
#define OC_FRAME_STDERR 'E'
#define OC_FRAME_LOG 'L'
#define OC_FRAME_MAX (64u << 20)

/* Write one frame, blocking until all of it is written. 0 or -1 (errno). */
int oc_frame_write(int fd, uint8_t type, const void *data, size_t len);

/* Incremental reader: feed bytes, take whole frames out. */
struct oc_frame_rd {
    struct oc_buf buf;
    size_t off;
};
/* 1 and the frame (payload borrowed until the next call) when one is
 * complete, 0 when more bytes are needed, -1 on a malformed stream. */
int oc_frame_next(struct oc_frame_rd *r, uint8_t *type, const char **payload,
                  size_t *len);
void oc_frame_rd_free(struct oc_frame_rd *r);

#endif
