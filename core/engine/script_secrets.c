/* A secret in a shell script option (ORCH_OPTF_SCRIPT: step-exec's run:)
 * reaches the command through an environment variable of the step, and
 * the script refers to the variable, so the value never shows in the
 * command line (/proc/PID/cmdline) of the shell running the script.
 * ${{ secrets.NAME }} becomes ORCH_SECRET_NAME; any other expression whose
 * value is secret (format() of a secret, a comparison with one) becomes
 * ORCH_EXPR_<n>. The reference is written to mean the same value wherever
 * the expression stood: "${V}" where the text is unquoted, ${V} inside
 * double quotes or an expanding here-document, '"${V}"' inside single
 * quotes. A quoted here-document (<<'EOF') expands nothing: refused. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum oc_sh_quote { OC_SH_UNQ, OC_SH_SQ, OC_SH_DQ, OC_SH_COMMENT, OC_SH_HEREDOC,
                   OC_SH_HEREDOC_LIT };

#define OC_SH_DEPTH 32
#define OC_SH_HEREDOCS 8

struct oc_sh {
    struct {
        int q, paren;
        int kind; /* 0 the script, 1 $( ), 2 ` ` */
    } f[OC_SH_DEPTH];
    int d;
    struct {
        char delim[128];
        int tabs, lit;
    } hd[OC_SH_HEREDOCS];
    int n_hd;
};

static void oc_sh_push(struct oc_sh *sh, int kind)
{
    if (sh->d + 1 < OC_SH_DEPTH) {
        sh->d++;
        sh->f[sh->d].q = OC_SH_UNQ;
        sh->f[sh->d].paren = 0;
        sh->f[sh->d].kind = kind;
    }
}

/* A here-document operator at s[i] ("<<" or "<<-"): its delimiter word
 * noted; returns the index after the word. */
static size_t oc_sh_heredoc_op(struct oc_sh *sh, const char *s, size_t len, size_t i)
{
    size_t j = i + 2;
    int tabs = j < len && s[j] == '-';
    j += (size_t)tabs;
    while (j < len && (s[j] == ' ' || s[j] == '\t'))
        j++;
    char delim[128];
    size_t n = 0;
    int lit = 0;
    while (j < len && !strchr(" \t\n;&|<>()", s[j])) {
        if (s[j] == '\'' || s[j] == '"' || s[j] == '\\')
            lit = 1;
        else if (n + 1 < sizeof delim)
            delim[n++] = s[j];
        j++;
    }
    delim[n] = 0;
    if (n && sh->n_hd < OC_SH_HEREDOCS) {
        memcpy(sh->hd[sh->n_hd].delim, delim, n + 1);
        sh->hd[sh->n_hd].tabs = tabs;
        sh->hd[sh->n_hd].lit = lit;
        sh->n_hd++;
    }
    return j;
}

/* A line of a here-document body at s[i]: the delimiter line ends the
 * first pending body. The index after the line, or len when the line is
 * not complete (the body goes on to the end). */
static size_t oc_sh_heredoc_line(struct oc_sh *sh, const char *s, size_t len, size_t i)
{
    int *q = &sh->f[sh->d].q;
    size_t e = i;
    while (e < len && s[e] != '\n')
        e++;
    if (e == len)
        return len;
    size_t b = i;
    while (sh->hd[0].tabs && b < e && s[b] == '\t')
        b++;
    if (e - b == strlen(sh->hd[0].delim) && !memcmp(s + b, sh->hd[0].delim, e - b)) {
        sh->n_hd--;
        memmove(sh->hd, sh->hd + 1, (size_t)sh->n_hd * sizeof sh->hd[0]);
        *q = !sh->n_hd ? OC_SH_UNQ : sh->hd[0].lit ? OC_SH_HEREDOC_LIT : OC_SH_HEREDOC;
    }
    return e + 1;
}

/* The character at s[i], outside any quotes: the quoting, substitution or
 * here-document it opens or closes. The index of the next character;
 * *word_start says whether a word starts there. */
static size_t oc_sh_unquoted(struct oc_sh *sh, const char *s, size_t len, size_t i,
                             int *word_start)
{
    int *q = &sh->f[sh->d].q;
    char c = s[i];
    switch (c) {
    case '\'': *q = OC_SH_SQ; break;
    case '"': *q = OC_SH_DQ; break;
    case '#':
        if (*word_start)
            *q = OC_SH_COMMENT;
        break;
    case '`':
        if (sh->f[sh->d].kind == 2)
            sh->d--;
        else
            oc_sh_push(sh, 2);
        break;
    case '$':
        if (i + 1 < len && s[i + 1] == '(') {
            oc_sh_push(sh, 1);
            i++;
        }
        break;
    case '(': sh->f[sh->d].paren++; break;
    case ')':
        if (sh->f[sh->d].paren)
            sh->f[sh->d].paren--;
        else if (sh->f[sh->d].kind == 1)
            sh->d--;
        break;
    case '<':
        if (i + 1 < len && s[i + 1] == '<' && !(i + 2 < len && s[i + 2] == '<')) {
            *word_start = 0;
            return oc_sh_heredoc_op(sh, s, len, i);
        }
        break;
    case '\n':
        *q = !sh->n_hd ? OC_SH_UNQ : sh->hd[0].lit ? OC_SH_HEREDOC_LIT : OC_SH_HEREDOC;
        break;
    }
    *word_start = strchr(" \t\n;&|()", c) != NULL;
    return i + 1;
}

/* The quoting in force at the end of s[0..len), as /bin/sh reads it. */
static int oc_sh_state(const char *s, size_t len)
{
    struct oc_sh sh = {.d = 0};
    int word_start = 1;
    size_t i = 0;
    while (i < len) {
        int *q = &sh.f[sh.d].q;
        char c = s[i];
        if (*q == OC_SH_HEREDOC || *q == OC_SH_HEREDOC_LIT) {
            i = oc_sh_heredoc_line(&sh, s, len, i);
            word_start = 1;
            continue;
        }
        if (*q == OC_SH_SQ) {
            if (c == '\'')
                *q = OC_SH_UNQ;
            i++;
            continue;
        }
        if (*q == OC_SH_COMMENT && c != '\n') {
            i++;
            continue;
        }
        if (c == '\\') {
            i += 2;
            word_start = 0;
            continue;
        }
        if (*q == OC_SH_DQ) {
            if (c == '"') {
                *q = OC_SH_UNQ;
            } else if (c == '$' && i + 1 < len && s[i + 1] == '(') {
                oc_sh_push(&sh, 1);
                i++;
            } else if (c == '`') {
                oc_sh_push(&sh, 2);
            }
            i++;
            continue;
        }
        i = oc_sh_unquoted(&sh, s, len, i, &word_start);
    }
    return sh.f[sh.d].q;
}

/* The variable for a secret value: ORCH_SECRET_NAME, or the ORCH_EXPR_<n>
 * already holding this value, or a new one. malloc'd. */
static char *oc_secret_var(json_t *secret_env, const char *name, const char *value)
{
    if (name)
        return oc_xasprintf("ORCH_SECRET_%s", name);
    const char *k;
    json_t *v;
    json_object_foreach(secret_env, k, v) {
        if (!strncmp(k, "ORCH_EXPR_", 10) && !strcmp(json_string_value(v), value))
            return oc_xstrdup(k);
    }
    size_t n = 1;
    json_object_foreach(secret_env, k, v) n += !strncmp(k, "ORCH_EXPR_", 10);
    for (;; n++) {
        char *var = oc_xasprintf("ORCH_EXPR_%zu", n);
        if (!json_object_get(secret_env, var))
            return var;
        free(var);
    }
}

/* Whether a step's shell: value names a POSIX shell, whose variables the
 * references below are: its first word's last component is one. NULL (no
 * shell: option) is the plugin's default, sh. A template is not known
 * before it is rendered: not one. */
static int oc_shell_is_posix(const char *shell)
{
    static const char *const posix[] = {"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh"};
    if (!shell)
        return 1;
    while (*shell == ' ' || *shell == '\t')
        shell++;
    size_t n = strcspn(shell, " \t");
    const char *base = shell;
    for (size_t i = 0; i < n; i++)
        if (shell[i] == '/')
            base = shell + i + 1;
    size_t bn = (size_t)(shell + n - base);
    for (size_t i = 0; i < sizeof posix / sizeof posix[0]; i++)
        if (strlen(posix[i]) == bn && !strncmp(base, posix[i], bn))
            return 1;
    return 0;
}

struct oc_script_ud {
    json_t *secret_env;
    const char *shell;
};

static char *oc_script_subst(void *ud_, const char *before, size_t len, const char *name,
                             const char *value, char **err)
{
    const struct oc_script_ud *ud = ud_;
    json_t *secret_env = ud->secret_env;
    if (!oc_shell_is_posix(ud->shell)) {
        *err = oc_xasprintf("a secret in a script for shell '%s' cannot be passed: orch gives "
                            "scripts their secrets as shell variables; give it to the step in "
                            "env: (env: {TOKEN: \"${{ secrets.TOKEN }}\"}) and read it from "
                            "the environment",
                            ud->shell);
        return NULL;
    }
    int q = oc_sh_state(before, len);
    if (q == OC_SH_HEREDOC_LIT) {
        *err = oc_xstrdup("a secret in a quoted here-document (<<'EOF') cannot be passed: "
                          "orch gives scripts their secrets through environment variables, "
                          "which such a document does not expand; use an unquoted "
                          "delimiter (<<EOF)");
        return NULL;
    }
    json_t *js = json_string(value);
    if (!js) {
        *err = oc_xstrdup("a secret that is not UTF-8 text cannot be passed to a script");
        return NULL;
    }
    char *var = oc_secret_var(secret_env, name, value);
    json_object_set_new(secret_env, var, js);
    char *ref = q == OC_SH_UNQ  ? oc_xasprintf("\"${%s}\"", var)
                : q == OC_SH_SQ ? oc_xasprintf("'\"${%s}\"'", var)
                                : oc_xasprintf("${%s}", var);
    free(var);
    return ref;
}

json_t *oc_render_script(const char *text, const char *shell, const struct oc_scope *sc,
                         json_t *secret_env, char **errmsg)
{
    char *out = NULL;
    struct oc_script_ud ud = {secret_env, shell};
    if (oc_template_render_subst(text, sc, secret_env ? oc_script_subst : NULL, &ud, &out,
                                 NULL, errmsg) != 0)
        return NULL;
    json_t *j = json_string(out);
    free(out);
    return j;
}
