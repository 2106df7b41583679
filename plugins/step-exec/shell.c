/* shell: which program runs a step's run: script, in GitHub Actions'
 * spelling: a name (sh, bash, python3) or a command line in which {0}
 * stands for the script's file. The script never travels in a command
 * line (/proc/PID/cmdline is readable by every user): it reaches the
 * instance in the variable ORCH_RUN_SCRIPT of a short /bin/sh bootstrap,
 * which opens a here-document of the variable's value as fd 9 (dash and
 * busybox make it a pipe, bash a pipe or a file it removes at once), drops
 * the variable and execs the shell on /dev/fd/9. So the shell is the
 * command itself (its exit status and signal are the step's) and the
 * script's file has no name anywhere: nothing to clean up, nothing left
 * when the command is killed. The here-document's text is the variable's
 * expansion, which the shell does not scan again: the script arrives as
 * it was, with a newline after it. A mktemp file removed after opening
 * did the same at three more processes per step (mktemp, rm, the $( )):
 * 2.7 ms against 0.7 ms over a bare sh -c (docs/benchmarks.md).
 *
 * The default, sh, costs no process more than sh -c did: the bootstrap
 * is that sh, so it sets -e and reads the script itself with `.`, the
 * same commands in the same order ($0 is the shell's name there, not
 * /dev/fd/9). Every other shell is exec'd on /dev/fd/9. */
#include <string.h>

#include "exec.h"

/* GitHub Actions' presets: sh stops at the first failing command; bash
 * also fails a pipeline whose any part failed and reads no profile. */
static const struct {
    const char *name, *line;
} se_presets[] = {
    {"sh", "sh -e {0}"},
    {"bash", "bash --noprofile --norc -eo pipefail {0}"},
    {"python3", "python3 {0}"},
};

#define SE_SCRIPT_FD "/dev/fd/9"

static const char se_boot_head[] =
    "exec 9<<ORCH_RUN_SCRIPT_END\n"
    "$" SE_SCRIPT_VAR "\n"
    "ORCH_RUN_SCRIPT_END\n"
    "unset " SE_SCRIPT_VAR "\n";
static const char se_boot_sh[] = "set -e\n. " SE_SCRIPT_FD "\n";

const char *se_shell_line(const char *spec)
{
    if (!spec)
        return se_presets[0].line;
    for (size_t i = 0; i < sizeof se_presets / sizeof se_presets[0]; i++)
        if (!strcmp(spec, se_presets[i].name))
            return se_presets[i].line;
    return spec;
}

static int se_blank(char c)
{
    return c == ' ' || c == '\t';
}

orch_status se_shell_check(const struct orch_host *h, const char *spec, struct orch_error *err)
{
    const char *line = se_shell_line(spec);
    for (const char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return h->error_set(err, ORCH_E_CONFIG,
                                "option 'shell': a control character at byte %zu (one line "
                                "of words separated by blanks)",
                                (size_t)(p - line));
    const char *w = line;
    while (se_blank(*w))
        w++;
    if (!*w)
        return h->error_set(err, ORCH_E_CONFIG, "option 'shell' is empty");
    if (!strstr(line, "{0}"))
        return h->error_set(err, ORCH_E_CONFIG,
                            "option 'shell': '%s' is not sh, bash or python3 and has no {0} "
                            "for the script's file (e.g. \"perl {0}\")",
                            line);
    return ORCH_OK;
}

/* Append s to b (capacity cap, length *n): 0, or -1 when it does not fit. */
static int se_put(char *b, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n + len >= cap)
        return -1;
    memcpy(b + *n, s, len);
    *n += len;
    b[*n] = 0;
    return 0;
}

/* One word of the shell's line, single-quoted, {0} replaced by the fd. */
static int se_put_word(char *b, size_t cap, size_t *n, const char *w, size_t len)
{
    int rc = se_put(b, cap, n, " '", 2);
    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (i + 3 <= len && !strncmp(w + i, "{0}", 3)) {
            rc = se_put(b, cap, n, SE_SCRIPT_FD, sizeof SE_SCRIPT_FD - 1);
            i += 2;
        } else if (w[i] == '\'') {
            rc = se_put(b, cap, n, "'\\''", 4);
        } else {
            rc = se_put(b, cap, n, w + i, 1);
        }
    }
    return rc ? rc : se_put(b, cap, n, "'", 1);
}

char *se_shell_bootstrap(const struct orch_host *h, const char *spec)
{
    const char *line = se_shell_line(spec);
    /* Each byte of the line at most four (a quote), plus the quotes. */
    size_t cap = sizeof se_boot_head + sizeof se_boot_sh + 6 * strlen(line) + 64;
    char *b = h->alloc(cap);
    if (!b)
        return NULL;
    size_t n = 0;
    int rc = se_put(b, cap, &n, se_boot_head, sizeof se_boot_head - 1);
    if (line == se_presets[0].line) {
        if (rc == 0)
            rc = se_put(b, cap, &n, se_boot_sh, sizeof se_boot_sh - 1);
    } else if (rc == 0) {
        rc = se_put(b, cap, &n, "exec", 4);
    }
    for (const char *p = line == se_presets[0].line ? "" : line; rc == 0 && *p;) {
        while (se_blank(*p))
            p++;
        size_t len = 0;
        while (p[len] && !se_blank(p[len]))
            len++;
        if (len)
            rc = se_put_word(b, cap, &n, p, len);
        p += len;
    }
    if (rc == 0 && line != se_presets[0].line)
        rc = se_put(b, cap, &n, "\n", 1);
    if (rc) {
        h->free(b);
        return NULL;
    }
    return b;
}
