/* The four actions. Each is a short sequence of plain git commands, so the
 * step log reads like what a person would type. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "git.h"

static int sg_is_sha(const char *ref)
{
    size_t n = strlen(ref);
    if (n < 7 || n > 64)
        return 0;
    for (const char *p = ref; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return 0;
    return 1;
}

orch_status sg_outputs_head(struct sg_step *s, struct orch_error *err)
{
    const char *sha_argv[] = {"git", "rev-parse", "HEAD", NULL};
    char *sha = NULL, *branch = NULL;
    orch_status st = sg_git_value(s, sha_argv, 1, &sha, err);
    if (st != ORCH_OK)
        return st;
    const char *br_argv[] = {"git", "rev-parse", "--abbrev-ref", "HEAD", NULL};
    st = sg_git_value(s, br_argv, 1, &branch, err);
    if (st == ORCH_OK) {
        sg_host->output_set(s->ctx, "commit", sha);
        /* "HEAD" is git's word for detached: no branch. */
        sg_host->output_set(s->ctx, "branch", strcmp(branch, "HEAD") ? branch : "");
    }
    sg_host->free(sha);
    sg_host->free(branch);
    return st;
}

orch_status sg_clone(struct sg_step *s, struct orch_error *err)
{
    const struct sg_cfg *c = s->cfg;
    const char *argv[12];
    int n = 0;
    char depth[32];
    argv[n++] = "git";
    argv[n++] = "clone";
    argv[n++] = "--quiet";
    if (c->depth > 0) {
        snprintf(depth, sizeof depth, "--depth=%lld", (long long)c->depth);
        argv[n++] = depth;
    }
    int sha = c->ref && sg_is_sha(c->ref);
    if (c->ref && !sha) {
        argv[n++] = "--branch";
        argv[n++] = c->ref;
    }
    argv[n++] = "--";
    argv[n++] = c->url;
    argv[n++] = c->dir;
    argv[n] = NULL;
    orch_status st = sg_git(s, NULL, argv, NULL, err);
    if (st == ORCH_OK && sha) {
        const char *co[] = {"git", "-c", "advice.detachedHead=false", "checkout", "--quiet",
                            c->ref, NULL};
        st = sg_git(s, c->dir, co, NULL, err);
    }
    return st == ORCH_OK ? sg_outputs_head(s, err) : st;
}

orch_status sg_checkout(struct sg_step *s, struct orch_error *err)
{
    const struct sg_cfg *c = s->cfg;
    const char *argv[10];
    int n = 0;
    argv[n++] = "git";
    argv[n++] = "-c";
    argv[n++] = "advice.detachedHead=false";
    argv[n++] = "checkout";
    argv[n++] = "--quiet";
    if (c->branch) {
        /* -B: a retried step finds the branch it made and resets it. */
        argv[n++] = "-B";
        argv[n++] = c->branch;
    }
    if (c->ref)
        argv[n++] = c->ref;
    argv[n] = NULL;
    orch_status st = sg_git(s, c->dir, argv, NULL, err);
    return st == ORCH_OK ? sg_outputs_head(s, err) : st;
}

/* "Name <email>" into its parts; orch's own identity when absent. */
static void sg_author(const char *author, char *name, size_t ncap, char *email, size_t ecap)
{
    const char *lt = author ? strchr(author, '<') : NULL;
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (!author || !lt || !gt) {
        snprintf(name, ncap, "%s", author && *author ? author : "orch");
        snprintf(email, ecap, "orch@localhost");
        return;
    }
    size_t nl = (size_t)(lt - author);
    while (nl && author[nl - 1] == ' ')
        nl--;
    snprintf(name, ncap, "%.*s", (int)nl, author);
    snprintf(email, ecap, "%.*s", (int)(gt - lt - 1), lt + 1);
}

orch_status sg_commit(struct sg_step *s, struct orch_error *err)
{
    const struct sg_cfg *c = s->cfg;
    uint32_t np = c->paths.count;
    const char **add = sg_host->calloc(np + 6, sizeof *add);
    if (!add)
        return sg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    int n = 0;
    add[n++] = "git";
    add[n++] = "add";
    add[n++] = "-A";
    add[n++] = "--";
    for (uint32_t i = 0; i < np; i++)
        add[n++] = c->paths.items[i];
    if (!np)
        add[n++] = ".";
    add[n] = NULL;
    orch_status st = sg_git(s, c->dir, add, NULL, err);
    sg_host->free(add);
    if (st != ORCH_OK)
        return st;
    const char *diff[] = {"git", "diff", "--cached", "--name-only", NULL};
    char *changed = NULL;
    st = sg_git_value(s, diff, 0, &changed, err);
    if (st != ORCH_OK)
        return st;
    if (!*changed && !c->allow_empty) {
        sg_host->free(changed);
        return sg_host->error_set(err, ORCH_E_FAILED,
                                  "git commit: nothing to commit in %s (set allow_empty to "
                                  "commit anyway)",
                                  c->dir);
    }
    char name[256], email[256], uname[300], uemail[300];
    sg_author(c->author, name, sizeof name, email, sizeof email);
    snprintf(uname, sizeof uname, "user.name=%s", name);
    snprintf(uemail, sizeof uemail, "user.email=%s", email);
    const char *commit[] = {"git", "-c", uname, "-c", uemail, "commit", "--quiet", "-m",
                            c->message, c->allow_empty ? "--allow-empty" : NULL, NULL};
    st = sg_git(s, c->dir, commit, NULL, err);
    if (st == ORCH_OK)
        st = sg_outputs_head(s, err);
    if (st == ORCH_OK)
        sg_host->output_set(s->ctx, "changed_files", changed);
    sg_host->free(changed);
    return st;
}

orch_status sg_push(struct sg_step *s, struct orch_error *err)
{
    const struct sg_cfg *c = s->cfg;
    char *current = NULL;
    const char *branch = c->branch;
    if (!branch) {
        const char *br[] = {"git", "rev-parse", "--abbrev-ref", "HEAD", NULL};
        orch_status st = sg_git_value(s, br, 1, &current, err);
        if (st != ORCH_OK)
            return st;
        if (!strcmp(current, "HEAD")) {
            sg_host->free(current);
            return sg_host->error_set(err, ORCH_E_CONFIG,
                                      "git push: HEAD is detached in %s: set 'branch'", c->dir);
        }
        branch = current;
    }
    char refspec[600];
    snprintf(refspec, sizeof refspec, "HEAD:refs/heads/%s", branch);
    const char *argv[] = {"git", "push", "--quiet",
                          c->force_with_lease ? "--force-with-lease" : "--no-force-with-lease",
                          "--", c->remote, refspec, NULL};
    orch_status st = sg_git(s, c->dir, argv, NULL, err);
    if (st == ORCH_OK) {
        st = sg_outputs_head(s, err);
        if (st == ORCH_OK) /* the branch pushed to, which HEAD may not be on */
            sg_host->output_set(s->ctx, "branch", branch);
    }
    sg_host->free(current);
    return st;
}
