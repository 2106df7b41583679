/* hashFiles(patterns...) of a step's with: and env:, read where the step
 * runs: the engine rendered each call as a token (core/engine/step_env.c)
 * and listed its patterns in the request's ctx.hash_files; here, with the
 * step's instance bound, each token is replaced by the hash of the files
 * of the instance's work dir the patterns match, before the plugin reads
 * its options.
 *
 * The hash is GitHub Actions': the SHA-256 of the SHA-256 digests (raw,
 * 32 bytes each) of the matching files' contents, as hex; "" when no file
 * matches. Rules (docs/expressions.md, "hashFiles"): patterns are
 * relative to the work dir; `*`, `?` and `[...]` match within one path
 * segment, dot files included; `**` matches any number of segments; a
 * pattern starting with `!` excludes what it matches, whatever the order.
 * Files are taken in byte order of their paths. Symbolic links are neither
 * followed nor hashed (one could lead out of the work dir), and the walk
 * enters only directories a pattern could match below, at most
 * XE_HASH_MAX_DEPTH deep and XE_HASH_MAX_ENTRIES entries in all. */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "exec.h"
#include "host.h"
#include "util.h"

#define XE_HASH_MAX_DEPTH 64
#define XE_HASH_MAX_ENTRIES 200000

struct xe_pat {
    int negate;
    char **seg;
    size_t n;
};

static void xe_pat_split(const char *text, struct xe_pat *p)
{
    p->negate = *text == '!';
    char *copy = oc_xstrdup(text + p->negate), *save = NULL;
    p->seg = oc_xcalloc(strlen(copy) + 2, sizeof *p->seg);
    p->n = 0;
    for (char *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save))
        if (strcmp(s, "."))
            p->seg[p->n++] = oc_xstrdup(s);
    free(copy);
}

static void xe_pat_free(struct xe_pat *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->seg[i]);
    free(p->seg);
}

/* Whether the path's segments s match the pattern's p. */
static int xe_match(char *const *p, size_t np, char *const *s, size_t ns)
{
    if (!np)
        return !ns;
    if (!strcmp(p[0], "**"))
        return xe_match(p + 1, np - 1, s, ns) || (ns && xe_match(p, np, s + 1, ns - 1));
    return ns && fnmatch(p[0], s[0], 0) == 0 && xe_match(p + 1, np - 1, s + 1, ns - 1);
}

/* Whether a file below the directory s could match p. */
static int xe_may_hold(char *const *p, size_t np, char *const *s, size_t ns)
{
    if (!ns)
        return np > 0;
    if (!np)
        return 0;
    if (!strcmp(p[0], "**"))
        return 1;
    return fnmatch(p[0], s[0], 0) == 0 && xe_may_hold(p + 1, np - 1, s + 1, ns - 1);
}

struct xe_walk {
    struct orch_ctx *ctx;
    struct xe_pat *pats;
    size_t n_pats;
    char **files;
    size_t n_files;
    char **dirs;             /* to list next */
    size_t n_dirs;
    size_t entries;
    const char *at;          /* the directory being listed, "" for the work dir */
    char *err;
};

static size_t xe_split_path(char *path, char **seg)
{
    size_t n = 0;
    char *save = NULL;
    for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save))
        seg[n++] = s;
    return n;
}

/* rel is a file (dir 0) that the patterns take, or a directory (dir 1)
 * that one of them could hold a match below. */
static int xe_wanted(struct xe_walk *w, const char *rel, int dir)
{
    char *copy = oc_xstrdup(rel);
    char **seg = oc_xcalloc(strlen(rel) + 2, sizeof *seg);
    size_t n = xe_split_path(copy, seg);
    int yes = 0, no = 0;
    for (size_t i = 0; i < w->n_pats; i++) {
        const struct xe_pat *p = &w->pats[i];
        if (dir && !p->negate)
            yes |= xe_may_hold(p->seg, p->n, seg, n);
        else if (!dir && p->negate)
            no |= xe_match(p->seg, p->n, seg, n);
        else if (!dir)
            yes |= xe_match(p->seg, p->n, seg, n);
    }
    free(seg);
    free(copy);
    return yes && !no;
}

static int32_t xe_walk_entry(void *ud, const struct orch_dirent *e)
{
    struct xe_walk *w = ud;
    if (!strcmp(e->name, ".") || !strcmp(e->name, "..") || strchr(e->name, '/'))
        return 0;
    if (++w->entries > XE_HASH_MAX_ENTRIES) {
        w->err = oc_xasprintf("more than %d entries under the work dir: narrow the patterns",
                              XE_HASH_MAX_ENTRIES);
        return 1;
    }
    char *rel = *w->at ? oc_xasprintf("%s/%s", w->at, e->name) : oc_xstrdup(e->name);
    if (e->type == ORCH_FT_DIR && xe_wanted(w, rel, 1)) {
        w->dirs = oc_xrealloc(w->dirs, (w->n_dirs + 1) * sizeof *w->dirs);
        w->dirs[w->n_dirs++] = rel;
    } else if (e->type == ORCH_FT_FILE && xe_wanted(w, rel, 0)) {
        w->files = oc_xrealloc(w->files, (w->n_files + 1) * sizeof *w->files);
        w->files[w->n_files++] = rel;
    } else {
        free(rel);
    }
    return 0;
}

static int xe_depth(const char *rel)
{
    int d = 1;
    for (; *rel; rel++)
        d += *rel == '/';
    return d;
}

static int xe_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int32_t xe_hash_write(void *ud, const void *buf, uint64_t len)
{
    sha256_update(ud, (size_t)len, buf);
    return 0;
}

/* The hash of what patterns match, hex (or "") into *hex. */
static orch_status xe_hash_one(struct orch_ctx *ctx, json_t *patterns, char **hex,
                               struct orch_error *err)
{
    const struct orch_host *h = oc_host();
    struct xe_walk w = {.ctx = ctx};
    w.n_pats = json_array_size(patterns);
    w.pats = oc_xcalloc(w.n_pats + 1, sizeof *w.pats);
    for (size_t i = 0; i < w.n_pats; i++)
    {
        const char *t = json_string_value(json_array_get(patterns, i));
        xe_pat_split(t ? t : "", &w.pats[i]);
    }
    w.dirs = oc_xcalloc(1, sizeof *w.dirs);
    w.dirs[w.n_dirs++] = oc_xstrdup("");
    orch_status rc = ORCH_OK;
    while (rc == ORCH_OK && w.n_dirs && !w.err) {
        char *dir = w.dirs[--w.n_dirs];
        w.at = dir;
        if (xe_depth(dir) > XE_HASH_MAX_DEPTH)
            w.err = oc_xasprintf("%s: deeper than %d directories", dir, XE_HASH_MAX_DEPTH);
        else
            rc = h->inst_list_dir(ctx, *dir ? dir : ".", xe_walk_entry, &w, err);
        free(dir);
    }
    if (w.err && rc == ORCH_OK)
        rc = oc_error_set(err, ORCH_E_INVALID_ARG, "hashFiles(): %s", w.err);
    if (w.n_files)
        qsort(w.files, w.n_files, sizeof *w.files, xe_cmp);
    struct sha256_ctx all;
    sha256_init(&all);
    for (size_t i = 0; rc == ORCH_OK && i < w.n_files; i++) {
        struct sha256_ctx one;
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256_init(&one);
        rc = h->inst_get_file(ctx, w.files[i], xe_hash_write, &one, err);
        sha256_digest(&one, sizeof d, d);
        sha256_update(&all, sizeof d, d);
    }
    if (rc == ORCH_OK) {
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256_digest(&all, sizeof d, d);
        struct oc_buf b = {0};
        for (size_t i = 0; w.n_files && i < sizeof d; i++)
            oc_buf_addf(&b, "%02x", d[i]);
        *hex = b.data ? oc_buf_steal(&b) : oc_xstrdup("");
    }
    for (size_t i = 0; i < w.n_files; i++)
        free(w.files[i]);
    for (size_t i = 0; i < w.n_dirs; i++)
        free(w.dirs[i]);
    for (size_t i = 0; i < w.n_pats; i++)
        xe_pat_free(&w.pats[i]);
    free(w.files);
    free(w.dirs);
    free(w.pats);
    free(w.err);
    return rc;
}

/* Every string of j (an object or an array, recursively) with token
 * replaced by value. */
static void xe_replace(json_t *j, const char *token, const char *value)
{
    size_t i;
    const char *k;
    json_t *v;
    if (json_is_object(j)) {
        json_object_foreach(j, k, v) xe_replace(v, token, value);
        return;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) xe_replace(v, token, value);
        return;
    }
    const char *s = json_string_value(j);
    if (!s || !strstr(s, token))
        return;
    struct oc_buf b = {0};
    size_t tl = strlen(token);
    for (const char *at; (at = strstr(s, token)); s = at + tl) {
        oc_buf_addf(&b, "%.*s%s", (int)(at - s), s, value);
    }
    oc_buf_addf(&b, "%s", s);
    json_string_set(j, b.data ? b.data : "");
    oc_buf_free(&b);
}

orch_status xe_hash_files(struct xe_job *job, struct orch_ctx *ctx, json_t *with,
                          struct orch_error *err)
{
    json_t *calls = job->rq.ctx.hash_files;
    const char *token;
    json_t *patterns;
    json_object_foreach(calls, token, patterns) {
        if (!json_is_array(patterns))
            return oc_error_set(err, ORCH_E_PROTOCOL, "ctx.hash_files: %s is not a list",
                                token);
        char *value = NULL;
        orch_status rc;
        if (ctx->dry_run) {
            /* Nothing is read in proof mode: the plan says what would be. */
            char *list = json_dumps(patterns, JSON_COMPACT);
            value = oc_xasprintf("hashFiles%s", list ? list : "[]");
            free(list);
            rc = ORCH_OK;
        } else if (!job->inst) {
            rc = oc_error_set(err, ORCH_E_INVALID_ARG,
                              "hashFiles(): the step has no instance whose files it reads");
        } else {
            rc = xe_hash_one(ctx, patterns, &value, err);
        }
        if (rc != ORCH_OK)
            return rc;
        xe_replace(with, token, value);
        xe_replace(job->env, token, value);
        free(value);
    }
    return ORCH_OK;
}
