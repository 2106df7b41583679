/* What a backend needs to find and end the commands an interrupted exec
 * left running in an instance (reap_commands, ABI 1.1). Part of the plugin
 * kit (liborch-kit, see orch/kit.h): linked into each backend that uses it.
 *
 * Each command gets a record in the instance, written by the command's own
 * process-group leader before the command starts: "PID START" (the
 * leader's pid, which is its process group, and its start time in clock
 * ticks, /proc/PID/stat field 22, so that a pid reused after a restart is
 * never taken for it). Every process of the command also carries
 * ORCH_EXEC_TOKEN=<token> in its environment. The record's name carries
 * the owner: the process that called exec; while that process lives its
 * exec call may still be under way, and its command is left alone. */
#ifndef ORCH_KIT_REAP_H
#define ORCH_KIT_REAP_H

#include <stddef.h>

#include <orch/orch.h>

/* "BOOT.PID.START" of the calling process: BOOT the first 12 hex digits of
 * the kernel's boot id. Only [0-9a-f.]. 0, or -1 when /proc is unreadable. */
int pk_owner_self(char *out, size_t cap);
/* 1 when the owner (the first len bytes of text) is a process that lives
 * now on this host; 0 when it is gone, of another boot or host, or the
 * text is no owner at all. */
int pk_owner_alive(const char *text, size_t len);
/* 1 when s is a non-empty word of [A-Za-z0-9._/-] (safe in sh unquoted). */
int pk_plain_word(const char *s, size_t len);

/* sh text (a POSIX sh function body, dash-safe) that writes "$$ START" of
 * the shell running it into the file named by the shell word REC. Used by
 * a leader before it execs or runs the command. */
#define PK_RECORD_SELF(REC)                                                                    \
    "{ read -r l </proc/$$/stat && set -- ${l##*) } && [ -n \"${20}\" ] && echo \"$$ ${20}\" "  \
    ">" REC "; }"

/* POSIX sh (dash, bash, busybox) that ends the commands of the given
 * records: n tokens and n record files (plain words, see pk_plain_word).
 * Targets are the live processes (zombies are gone) that carry one of the
 * tokens, and the members of each recorded group whose leader is the
 * recorded process (same start time) or holds a token. TERM, up to
 * grace_ms for them to go, then KILL until none is left, for at most
 * deadline_ms; exit 0 when all are gone, else 1 after printing "still
 * running: PIDS". NULL when out of memory. */
char *pk_reap_script(const struct orch_host *h, const char *const *tokens,
                     const char *const *records, size_t n, int64_t grace_ms,
                     int64_t deadline_ms);

#endif
