/* The plugin kit: small helpers every plugin would otherwise write again
 * (growable buffers, printf and shell quoting into host memory, the
 * deadline of a call, process-group scripts). Part of the SDK, used by the
 * in-tree plugins and open to any plugin:
 *
 *   CMake:      orch_add_plugin links it (OrchSDK::kit, liborch-kit.a)
 *   pkg-config: `pkg-config --libs orch-plugin` names -lorch-kit
 *
 * It is a static library: its code is linked into each plugin, so it is
 * no part of the plugin ABI (nothing of it crosses the boundary, plugins
 * share no code at run time) and it may grow in any release. Compiled with
 * hidden visibility: a plugin still exports only its entry point.
 * Everything allocated comes from the host's allocator h, so the host's
 * leak accounting (and `orch-plugin test --torture`) sees it; free it with
 * h->free. The names start with pk_ ("plugin kit"): a plugin should not
 * define names of its own with that prefix.
 *
 * The HTTP client (libcurl) is an optional part of its own: orch/kit_http.h. */
#ifndef ORCH_KIT_H
#define ORCH_KIT_H

#include <stddef.h>
#include <stdint.h>

#include <orch/orch.h>

/* printf into host memory; NULL when out of memory. */
char *pk_printf(const struct orch_host *h, const char *fmt, ...) ORCH_PRINTF(2, 3);
/* s as one POSIX shell word: 'it'\''s'. NULL when out of memory. */
char *pk_shquote(const struct orch_host *h, const char *s);

/* The end of a call (host monotonic ns): start_ns + timeout_ms (0 = no
 * timeout of its own) or the ctx's deadline (ctx NULL: none), whichever
 * comes first; 0 when neither applies. */
int64_t pk_deadline(const struct orch_host *h, struct orch_ctx *ctx, int64_t start_ns,
                    int64_t timeout_ms);

/* 1 when key follows the store ABI's key rule (orch/store.h): non-empty,
 * "/"-separated, not starting with "/", no ".." component. A store checks
 * it on every blob call (and answers ORCH_E_INVALID_ARG): stores are
 * called without the core too (the conformance suite, other hosts). */
int pk_blob_key_ok(const char *key);

/* Sleep ms, woken by a cancel: 0 when the time went by, non-zero when the
 * ctx was cancelled (ctx NULL: never) or the deadline (host monotonic ns,
 * 0 = none) passed first. For waits between retries: a long back-off must
 * not outlive the step. */
int pk_pause(const struct orch_host *h, struct orch_ctx *ctx, int64_t ms, int64_t deadline_ns);

/* A growing buffer of text or bytes in host memory, always NUL-terminated
 * once anything was added. Start it as {.h = host}. After a failed add
 * every later add is a no-op (so a chain of adds is checked once, at the
 * end) and pk_buf_take gives NULL. */
struct pk_buf {
    const struct orch_host *h;
    char *p;                     /* the contents, NULL until the first add */
    size_t len, cap;
    int failed;
};
void pk_add(struct pk_buf *b, const char *s);     /* s NULL marks a failure */
/* n bytes (may hold NULs); 0, or -1 (and b failed) when out of memory. */
int pk_add_mem(struct pk_buf *b, const void *p, size_t n);
void pk_add_word(struct pk_buf *b, const char *s); /* " 'word'" */
char *pk_buf_take(struct pk_buf *b);              /* the text, or NULL (freed) */
void pk_buf_free(struct pk_buf *b);               /* empty again, h kept */
/* " 'K=V'..." for each variable: the arguments of `env`. */
void pk_add_env(struct pk_buf *b, const struct orch_kv *env, uint32_t n);
/* "export 'K=V'" lines for each variable: a file for `.`, so values travel
 * in a file of the instance and never in a command line (which every user
 * of the host can read in /proc). NULL when out of memory. */
char *pk_env_exports(const struct orch_host *h, const struct orch_kv *env, uint32_t n);

/* Inside `sh -c '<this>' PIDFILE CMD...`: CMD in a session (and so a
 * process group) of its own, its id recorded in PIDFILE for a kill, its
 * exit status the script's. setsid runs without forking (a background job
 * is no group leader), so $! is the group; stdin is passed on through fd 3,
 * since a background job's stdin is /dev/null otherwise. Plain POSIX sh
 * and setsid: no job control (it needs a tty) and no setsid -w (busybox
 * has none). */
#define PK_GROUP_RUN "exec 3<&0; setsid \"$@\" <&3 3<&- & echo $! >\"$0\"; wait $!"

/* PK_GROUP_RUN with no moment where CMD runs unrecorded: the new session's
 * leader (a sh, pid $!) waits until PIDFILE holds its id (written to
 * PIDFILE.tmp and renamed, so a reader never sees half of it), then execs
 * CMD in its place. A wrapper killed before the rename leaves the leader
 * giving up after 30 s without running CMD. No single quote in it: callers
 * put it inside one. */
#define PK_GROUP_RUN_RECORDED                                                            \
    "exec 3<&0; setsid sh -c \"n=0; while [ ! -s \\\"\\$0\\\" ]; do [ \\$n -lt 3000 ] || " \
    "exit 125; sleep 0.01; n=\\$((n+1)); done; exec \\\"\\$@\\\"\" \"$0\" \"$@\" <&3 3<&- & " \
    "echo $! >\"$0.tmp\" && mv -f \"$0.tmp\" \"$0\"; wait $!"

/* POSIX sh text that ends the process group whose id is in the file
 * QPIDFILE (already one shell word): TERM, up to grace_ms for the group to
 * go, then KILL. `kill -SIG -PGID` is the one form dash, bash and busybox
 * all take: dash refuses `kill -TERM -- -PGID` ("Illegal number") and
 * busybox stops at the `--`, so neither signalled anything. An id that is
 * not a number above 1 is left alone (-1 would mean every process). */
char *pk_group_kill(const struct orch_host *h, const char *qpidfile, int64_t grace_ms);

#endif
