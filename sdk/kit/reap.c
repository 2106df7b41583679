/* The kit's command reaping (orch/kit_reap.h). */
#define _GNU_SOURCE
#include <orch/kit_reap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <orch/kit.h>

/* The start time (field 22) and state of /proc/PID/stat; -1 when gone. */
static int pk_proc_start(long pid, unsigned long long *start, char *state)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* The name in parentheses may hold anything: fields follow the last ')'. */
    char *p = strrchr(line, ')');
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
                             "%*d %*d %*d %llu",
                     state, start) != 2)
        return -1;
    return 0;
}

static int pk_boot12(char out[13])
{
    char id[64] = {0};
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (!f)
        return -1;
    int ok = fgets(id, sizeof id, f) != NULL;
    fclose(f);
    size_t k = 0;
    for (const char *p = id; ok && *p && k < 12; p++)
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
            out[k++] = *p;
    out[k] = 0;
    return k == 12 ? 0 : -1;
}

int pk_owner_self(char *out, size_t cap)
{
    char boot[13], state;
    unsigned long long start;
    long pid = (long)getpid();
    if (pk_boot12(boot) != 0 || pk_proc_start(pid, &start, &state) != 0)
        return -1;
    int n = snprintf(out, cap, "%s.%ld.%llu", boot, pid, start);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int pk_owner_alive(const char *text, size_t len)
{
    char buf[96], boot[13], mine[13], state;
    long pid;
    unsigned long long start, now;
    int used = 0;
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, text, len);
    buf[len] = 0;
    if (sscanf(buf, "%12[0-9a-f].%ld.%llu%n", boot, &pid, &start, &used) != 3 ||
        (size_t)used != len || pid <= 0)
        return 0;
    if (pk_boot12(mine) != 0 || strcmp(mine, boot))
        return 0;
    if (pk_proc_start(pid, &now, &state) != 0 || state == 'Z')
        return 0;
    return now == start;
}

int pk_plain_word(const char *s, size_t len)
{
    if (!s || !len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == '-'))
            return 0;
    }
    return 1;
}

/* scan: one line per live process, "PID PGRP START +|-" (+: it carries a
 * token; environ is NUL-separated, and busybox grep stops a line at a NUL). G: the recorded groups that are still the recorded ones (their
 * leader lives with the recorded start time) or hold a token carrier.
 * pick: the targets. Zombies are skipped: they are dead, only unreaped. */
static const char pk_reap_body[] =
    "scan() { for d in /proc/[0-9]*; do { read -r l <$d/stat; } 2>/dev/null || continue; "
    "set -- ${l##*) }; [ \"$1\" = Z ] && continue; c=-; { tr '\\000' '\\n' <$d/environ | "
    "grep -qxF $E; } 2>/dev/null && c=+; "
    "echo \"${d#/proc/} $3 ${20} $c\"; done; }\n"
    "GS=; for f in $F; do read -r a b <$f 2>/dev/null || continue; case \"$a:$b\" in "
    "*[!0-9:]*|:*|*:) continue;; esac; [ \"$a\" -gt 1 ] && GS=\"$GS $a:$b\"; done\n"
    "G=' '; S=$(scan)\n"
    "for e in $GS; do g=${e%%:*}; s=${e#*:}; if echo \"$S\" | { while read -r p pg st c; do "
    "[ \"$pg\" = \"$g\" ] && { [ \"$c\" = + ] || { [ \"$p\" = \"$g\" ] && [ \"$st\" = \"$s\" ]; "
    "}; } && exit 0; done; exit 1; }; then G=\"$G$g \"; fi; done\n"
    "pick() { scan | while read -r p pg st c; do case \"$c$G\" in +*|*\" $pg \"*) echo $p;; "
    "esac; done; }\n"
    "L=$(pick); if [ -n \"$L\" ]; then for p in $L; do kill -TERM $p 2>/dev/null; done; i=0; "
    "while [ $i -lt $W ] && [ -n \"$(pick)\" ]; do sleep 0.1; i=$((i+1)); done; fi\n"
    "i=0; while [ $i -lt $D ]; do L=$(pick); [ -z \"$L\" ] && break; for p in $L; do "
    "kill -KILL $p 2>/dev/null; done; sleep 0.1; i=$((i+1)); done\n"
    "L=$(pick); [ -z \"$L\" ] || { echo \"still running:\" $L; exit 1; }\n";

char *pk_reap_script(const struct orch_host *h, const char *const *tokens,
                     const char *const *records, size_t n, int64_t grace_ms,
                     int64_t deadline_ms)
{
    if (n == 0)
        return h->strdup("true");
    struct pk_buf b = {.h = h};
    pk_add(&b, "E='");
    for (size_t i = 0; i < n; i++) {
        pk_add(&b, " -e ORCH_EXEC_TOKEN=");
        pk_add(&b, pk_plain_word(tokens[i], strlen(tokens[i])) ? tokens[i] : NULL);
    }
    pk_add(&b, "'\nF='");
    for (size_t i = 0; i < n; i++) {
        pk_add(&b, " ");
        pk_add(&b, pk_plain_word(records[i], strlen(records[i])) ? records[i] : NULL);
    }
    char *nums = pk_printf(h, "'\nW=%lld; D=%lld\n", (long long)(grace_ms / 100),
                           (long long)(deadline_ms / 100 + 1));
    pk_add(&b, nums);
    h->free(nums);
    pk_add(&b, pk_reap_body);
    return pk_buf_take(&b);
}
