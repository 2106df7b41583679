/* Just enough tar for the engine's archive API: a push parser that reads
 * what Go's archive/tar writes (ustar, PAX path/size/mtime records, GNU
 * long names, base-256 sizes) and a writer for one entry. */
#ifndef DK_TAR_H
#define DK_TAR_H

#include <stddef.h>
#include <stdint.h>

#define DK_TAR_BLOCK 512
#define DK_TAR_NAME_MAX 900 /* longer names are refused */
#define DK_TAR_HDR_MAX (4 * DK_TAR_BLOCK)

struct dk_tar_entry {
    const char *name;     /* as stored: no leading "./" removed */
    const char *linkname;
    uint32_t mode;
    uint64_t size;
    int64_t mtime;        /* seconds */
    char type;            /* '0' file, '5' dir, '2' symlink, ... */
};

struct dk_untar {
    /* Return 0 to go on, non-zero to stop the parse (dk_untar_feed then
     * returns that value). */
    int (*on_entry)(void *ud, const struct dk_tar_entry *e);
    int (*on_data)(void *ud, const void *p, size_t n); /* may be NULL */
    void *ud;
    char err[160];        /* why dk_untar_feed returned -1 */
    int done;             /* the end-of-archive blocks were seen */
    /* parser state */
    unsigned char hdr[DK_TAR_BLOCK];
    size_t hlen;
    int state;
    uint64_t remaining, pad;
    char ext_type;        /* 'x' or 'L' while collecting an extension */
    char *ext;
    size_t ext_len;
    char *next_name;      /* from a PAX path or GNU long name */
    uint64_t next_size;
    int have_next_size;
    int64_t next_mtime;
    int have_next_mtime;
};

int dk_untar_feed(struct dk_untar *t, const void *p, size_t n);
void dk_untar_free(struct dk_untar *t);

/* The header blocks for one entry (a PAX block first when the name does not
 * fit ustar) into out, which holds DK_TAR_HDR_MAX bytes; returns the bytes written, 0
 * when the name is too long even for PAX here. */
size_t dk_tar_header(unsigned char *out, const char *name, uint32_t mode, uint64_t size,
                     char type, int64_t mtime);

#endif
