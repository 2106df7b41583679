/* Small helpers shared by the core. Internal: never installed. Internal
 * non-static symbols carry the oc_ prefix; the public API is orch_. */
#ifndef OC_UTIL_H
#define OC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <orch/abi.h>

/* Allocation that aborts on failure: the core treats OOM in its own
 * bookkeeping as fatal (plugins get ORCH_E_NOMEM through the host). */
void *oc_xmalloc(size_t n);
void *oc_xcalloc(size_t n, size_t size);
void *oc_xrealloc(void *p, size_t n);
char *oc_xstrdup(const char *s);
char *oc_xstrndup(const char *s, size_t n);
char *oc_xasprintf(const char *fmt, ...) ORCH_PRINTF(1, 2);
char *oc_xvasprintf(const char *fmt, va_list ap);

/* Growable byte buffer, always NUL-terminated. */
struct oc_buf {
    char *data;
    size_t len, cap;
};
void oc_buf_add(struct oc_buf *b, const void *p, size_t n);
void oc_buf_adds(struct oc_buf *b, const char *s);
void oc_buf_addf(struct oc_buf *b, const char *fmt, ...) ORCH_PRINTF(2, 3);
void oc_buf_addc(struct oc_buf *b, char c);
char *oc_buf_steal(struct oc_buf *b); /* returns data ("" if empty), resets b */
void oc_buf_free(struct oc_buf *b);

int64_t oc_now_mono_ns(void);
int64_t oc_now_real_ns(void);

/* A new random id: prefix + 20 lowercase base32 chars of which the first
 * ten encode the time, so ids sort by creation (ULID-like). */
char *oc_new_id(const char *prefix);

/* data as valid UTF-8: each byte of an invalid sequence becomes U+FFFD.
 * For text that must go into JSON (jansson refuses invalid UTF-8), such as
 * command output read by the byte. malloc'd, NUL-terminated, *out_len
 * its length (NUL bytes are valid UTF-8 and kept). */
char *oc_utf8_lossy(const char *data, size_t len, size_t *out_len);
/* 1 when s is valid UTF-8 without control characters (C0, DEL): text
 * that may go into a message, a log line or JSON as it is. */
int oc_utf8_printable(const char *s, size_t len);
/* s for a message: printable ASCII as it is, every other byte as \xNN,
 * cut at max bytes of s ("..." after). malloc'd. */
char *oc_escape_bytes(const char *s, size_t len, size_t max);

/* Edit distance, for "did you mean" suggestions. */
size_t oc_levenshtein(const char *a, const char *b);
/* The candidate closest to word, or NULL when none is close enough. */
const char *oc_closest(const char *word, const char *const *candidates,
                       size_t n);

/* Parse "250ms", "30s", "5m", "2h", "1d", or a bare number of seconds.
 * Returns 0 on success. */
int oc_parse_duration_ms(const char *s, int64_t *out);
/* Parse "2026-12-03T14:00:00Z", with up to nine digits of fraction
 * ("...:00.123456789Z"; without the Z: UTC either way), into nanoseconds
 * since the epoch. Returns 0 on success. */
int oc_parse_utc_time(const char *s, int64_t *out_ns);
/* ns (since the epoch, not negative) as RFC 3339 UTC with nine digits of
 * fraction, which oc_parse_utc_time reads back exactly: the API's form of a
 * time (integer nanoseconds lose precision in JavaScript and jq). n >= 32. */
void oc_fmt_utc_time(char *buf, size_t n, int64_t ns);
/* Parse "4096", "512K", "512M", "1G" (powers of 1024; "KB"/"KiB" too). */
int oc_parse_size(const char *s, int64_t *out);

/* mkdir -p; 0 on success (errno set otherwise). */
int oc_mkdir_p(const char *path, unsigned mode);
/* rm -rf; 0 on success. Refuses "" and "/". */
int oc_rm_rf(const char *path);
/* Whole file into memory, NUL-terminated; NULL with errno on error. */
char *oc_read_file(const char *path, size_t *len);
/* The same, reading at most max bytes (a FIFO or /dev/zero ends too). */
char *oc_read_file_max(const char *path, size_t max, size_t *len);
/* The same from an open descriptor (left open). */
char *oc_read_fd_max(int fd, size_t max, size_t *len);

/* The start time of process pid (clock ticks since boot, /proc field 22),
 * 0 when there is no such process: pid plus start time names one process
 * even after its pid is reused. */
unsigned long long oc_proc_start_time(long pid);

/* Diagnostics: messages "file:line:col: text" collected while validating,
 * so a user sees every problem in one go. */
struct oc_pos {
    const char *file; /* borrowed from the config that owns the node */
    uint32_t line, col;
};

/* Where one diagnostic points, for a reader that wants the parts (orch
 * --json validate): file (copied; NULL when it names no place), line, col,
 * and where in its line the message starts. */
struct oc_diag_where {
    char *file;
    uint32_t line, col;
    size_t text;
};

struct oc_diag {
    char **msgs;                 /* "file:line:col: text" */
    struct oc_diag_where *msgs_at;
    size_t n, cap;
    /* Warnings ("file:line:col: warning: text"): printed by `orch
     * validate`, never counted as errors, so they change no exit status. */
    char **warns;
    struct oc_diag_where *warns_at;
    size_t n_warns, cap_warns;
};
void oc_diag_add(struct oc_diag *d, const struct oc_pos *pos, const char *fmt,
                 ...) ORCH_PRINTF(3, 4);
void oc_diag_warn(struct oc_diag *d, const struct oc_pos *pos, const char *fmt,
                  ...) ORCH_PRINTF(3, 4);
void oc_diag_free(struct oc_diag *d);

#endif
