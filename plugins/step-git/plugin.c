/* step-git: clone, checkout, commit and push inside the step's backend
 * instance. Options, checks, the dry-run plan and the descriptor. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "git.h"

const struct orch_host *sg_host;

static const char *const sg_actions[] = {"clone", "checkout", "commit", "push", NULL};

#define SG_OPT(field, name, type, flags, def, desc)                                       \
    ORCH_OPTION(struct sg_cfg, field, name, type, flags, def, desc)

static const struct orch_option sg_options[] = {
    {sizeof(struct orch_option), ORCH_OPT_ENUM, ORCH_OPTF_REQUIRED,
     offsetof(struct sg_cfg, action), "action", NULL, "clone, checkout, commit or push", 0, 0,
     sg_actions, NULL},
    SG_OPT(url, "url", ORCH_OPT_STRING, 0, NULL, "clone: the repository (https, ssh, file)"),
    SG_OPT(ref, "ref", ORCH_OPT_STRING, 0, NULL,
           "clone, checkout: branch, tag or commit (default: the remote's HEAD)"),
    {sizeof(struct orch_option), ORCH_OPT_INT, ORCH_OPTF_MIN, offsetof(struct sg_cfg, depth),
     "depth", "0", "clone: history depth (0 = all)", 0, 0, NULL, NULL},
    SG_OPT(dir, "dir", ORCH_OPT_STRING, 0, "repo",
           "the repository's directory, relative to the instance work dir"),
    SG_OPT(branch, "branch", ORCH_OPT_STRING, 0, NULL,
           "checkout: create (or reset) this branch at ref; push: the remote branch "
           "(default: the current one)"),
    SG_OPT(message, "message", ORCH_OPT_STRING, 0, NULL, "commit: the message"),
    SG_OPT(author, "author", ORCH_OPT_STRING, 0, "orch <orch@localhost>",
           "commit: \"Name <email>\""),
    SG_OPT(paths, "paths", ORCH_OPT_STRING_LIST, 0, NULL,
           "commit: what to stage (default: every change)"),
    SG_OPT(allow_empty, "allow_empty", ORCH_OPT_BOOL, 0, "false",
           "commit: commit even when nothing changed"),
    SG_OPT(remote, "remote", ORCH_OPT_STRING, 0, "origin", "push: the remote"),
    SG_OPT(force_with_lease, "force_with_lease", ORCH_OPT_BOOL, 0, "false",
           "push: overwrite the remote branch if it is where we last saw it"),
    SG_OPT(token, "token", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL,
           "https token, given to git through GIT_ASKPASS"),
    SG_OPT(ssh_key, "ssh_key", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL,
           "ssh private key (PEM/OpenSSH) for ssh remotes"),
    SG_OPT(username, "username", ORCH_OPT_STRING, 0, "x-access-token",
           "https user name sent with the token"),
    SG_OPT(known_hosts, "known_hosts", ORCH_OPT_STRING, 0, NULL,
           "ssh: known_hosts lines; without it a new host key is accepted once"),
    SG_OPT(timeout_ms, "timeout", ORCH_OPT_DURATION, 0, NULL, "limit for each git command"),
};

static const struct orch_output_decl sg_outputs[] = {
    {sizeof(struct orch_output_decl), "commit", "HEAD's commit sha after the action"},
    {sizeof(struct orch_output_decl), "branch", "the branch (empty when HEAD is detached)"},
    {sizeof(struct orch_output_decl), "changed_files",
     "commit: the files in the commit, one per line"},
};

static orch_status sg_validate(const void *cfgp, struct orch_error *err)
{
    const struct sg_cfg *c = cfgp;
    const char *a = c->action;
    if (!a)
        return sg_host->error_set(err, ORCH_E_CONFIG, "'action' is required");
    if (!strcmp(a, "clone") && (!c->url || !*c->url))
        return sg_host->error_set(err, ORCH_E_CONFIG, "clone needs 'url'");
    if (!strcmp(a, "checkout") && !c->ref && !c->branch)
        return sg_host->error_set(err, ORCH_E_CONFIG, "checkout needs 'ref' or 'branch'");
    if (!strcmp(a, "commit") && (!c->message || !*c->message))
        return sg_host->error_set(err, ORCH_E_CONFIG, "commit needs 'message'");
    if (c->token && c->ssh_key)
        return sg_host->error_set(err, ORCH_E_CONFIG,
                                  "give 'token' (https) or 'ssh_key' (ssh), not both");
    if (c->depth && strcmp(a, "clone"))
        return sg_host->error_set(err, ORCH_E_CONFIG, "'depth' is for clone only");
    if (!c->dir || !*c->dir || c->dir[0] == '/' || !strcmp(c->dir, "..") ||
        !strncmp(c->dir, "../", 3) || strstr(c->dir, "/../"))
        return sg_host->error_set(err, ORCH_E_CONFIG,
                                  "'dir' must be a path inside the instance work dir, not "
                                  "'%s'",
                                  c->dir ? c->dir : "");
    if (c->url && c->url[0] == '-')
        return sg_host->error_set(err, ORCH_E_CONFIG, "'url' cannot start with '-'");
    return ORCH_OK;
}

static orch_status sg_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct sg_cfg *c = cfgp;
    orch_status st = sg_validate(c, err);
    if (st != ORCH_OK)
        return st;
    struct sg_step s = {.ctx = ctx, .cfg = c};
    int remote = !strcmp(c->action, "clone") || !strcmp(c->action, "push");
    if (remote && (st = sg_cred_setup(&s, err)) != ORCH_OK)
        return st;
    if (!strcmp(c->action, "clone"))
        st = sg_clone(&s, err);
    else if (!strcmp(c->action, "checkout"))
        st = sg_checkout(&s, err);
    else if (!strcmp(c->action, "commit"))
        st = sg_commit(&s, err);
    else
        st = sg_push(&s, err);
    sg_cred_teardown(&s);
    return st;
}

static orch_status sg_plan(struct orch_ctx *ctx, const void *cfgp, char **text,
                           struct orch_error *err)
{
    (void)ctx;
    const struct sg_cfg *c = cfgp;
    orch_status st = sg_validate(c, err);
    if (st != ORCH_OK)
        return st;
    char buf[2048];
    const char *cred = c->token ? " with a token" : c->ssh_key ? " with an ssh key" : "";
    if (!strcmp(c->action, "clone"))
        snprintf(buf, sizeof buf, "would clone %s%s%s into %s%s", c->url,
                 c->ref ? " at " : "", c->ref ? c->ref : "", c->dir, cred);
    else if (!strcmp(c->action, "checkout"))
        snprintf(buf, sizeof buf, "would check out %s%s%s in %s", c->branch ? "new branch " : "",
                 c->branch ? c->branch : "", c->ref ? c->ref : "", c->dir);
    else if (!strcmp(c->action, "commit"))
        snprintf(buf, sizeof buf, "would commit %s in %s as %s: %s",
                 c->paths.count ? "the given paths" : "every change", c->dir, c->author,
                 c->message);
    else
        snprintf(buf, sizeof buf, "would push HEAD of %s to %s/%s%s%s", c->dir, c->remote,
                 c->branch ? c->branch : "(current branch)",
                 c->force_with_lease ? " with --force-with-lease" : "", cred);
    *text = sg_host->strdup(buf);
    return *text ? ORCH_OK : sg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
}

static const struct orch_step_vtable sg_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .validate = sg_validate,
    .run = sg_run,
    .plan = sg_plan,
    .outputs = sg_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = sizeof sg_outputs / sizeof sg_outputs[0],
};

static const struct orch_plugin_desc sg_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "git",
    .version = "1.0.0",
    .description = "clone, checkout, commit and push inside the step's instance",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN | ORCH_STEP_CAP_NEEDS_BACKEND,
    .options = sg_options,
    .option_count = sizeof sg_options / sizeof sg_options[0],
    .config_size = sizeof(struct sg_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &sg_vtable,
};

ORCH_PLUGIN_DEFINE(step, git, sg_desc, sg_host)
