/* A run's snapshot: the config text a run is queued with (its record's
 * source), from which resume rebuilds the run's config without reading
 * any file, so that an edit, a reload or a removed file cannot change a
 * run that has started. A workflow of the main file: that file's text, as
 * always. A workflow of a workflows_dir file: one JSON document holding
 * the main file's text and that file's path and text, and no other file
 * (a run needs its workflow and the main file's backends and defaults,
 * not the other workflows: a record does not grow with the directory),
 * besides the files of the workflows that it and the main file's
 * workflows call. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json_limit.h"

/* How a snapshot document starts (json_dumps keeps the keys' order): a
 * config never does, as orch_snapshot is not one of its keys. */
#define OC_SNAPSHOT_HEAD "{\"orch_snapshot\":1,"

/* The workflows_dir files of wf and of every workflow its calls reach
 * (core/config/calls.c), each once, into files (a JSON array). */
static void oc_snapshot_reach(const struct oc_config *cfg, const struct oc_workflow *wf,
                              unsigned char *seen, json_t *files)
{
    size_t i = (size_t)(wf - cfg->workflows);
    if (seen[i])
        return;
    seen[i] = 1;
    int listed = !wf->file;
    for (size_t k = 0; !listed && k < json_array_size(files); k++)
        listed = !strcmp(json_string_value(json_object_get(json_array_get(files, k), "path")),
                         wf->file->path);
    if (!listed)
        json_array_append_new(files, json_pack("{s:s,s:s}", "path", wf->file->path, "text",
                                               wf->file->text));
    for (size_t s = 0; s < wf->n_steps; s++)
        if (wf->steps[s].call)
            oc_snapshot_reach(cfg, wf->steps[s].call, seen, files);
}

char *oc_config_snapshot(const struct oc_config *cfg, const struct oc_workflow *wf)
{
    if (!wf)
        return oc_xstrdup(cfg->source);
    /* A run needs its workflow, the main file, and the files of the
     * workflows these call: the snapshot's main file is validated whole,
     * so its workflows' calls must resolve too. */
    json_t *files = json_array();
    unsigned char *seen = oc_xcalloc(cfg->n_workflows + 1, 1);
    oc_snapshot_reach(cfg, wf, seen, files);
    for (size_t i = 0; i < cfg->n_workflows; i++)
        if (!cfg->workflows[i].file)
            oc_snapshot_reach(cfg, &cfg->workflows[i], seen, files);
    free(seen);
    if (!json_array_size(files)) {
        json_decref(files);
        return oc_xstrdup(cfg->source);
    }
    json_t *doc = json_pack("{s:i,s:s,s:o}", "orch_snapshot", 1, "main", cfg->source,
                            "files", files);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return text;
}

/* The files of a snapshot document; -1 when it is not one orch wrote. */
static int oc_snapshot_files(const json_t *files, struct oc_config_file **out, size_t *n_out)
{
    if (!json_is_array(files))
        return -1;
    size_t n = json_array_size(files);
    struct oc_config_file *f = oc_xcalloc(n + 1, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        const char *path = json_string_value(json_object_get(json_array_get(files, i), "path"));
        const char *text = json_string_value(json_object_get(json_array_get(files, i), "text"));
        if (!path || !text) {
            for (size_t j = 0; j < i; j++) {
                free(f[j].path);
                free(f[j].text);
            }
            free(f);
            return -1;
        }
        f[i] = (struct oc_config_file){.path = oc_xstrdup(path), .text = oc_xstrdup(text)};
    }
    *out = f;
    *n_out = n;
    return 0;
}

struct oc_config *oc_config_parse_snapshot(const char *snapshot, const char *path,
                                           struct oc_diag *diag)
{
    if (strncmp(snapshot, OC_SNAPSHOT_HEAD, strlen(OC_SNAPSHOT_HEAD)))
        return oc_config_parse_text(snapshot, path, NULL, 0, 1, diag);
    json_error_t jerr;
    json_t *doc = oc_json_loads_bounded(snapshot, JSON_REJECT_DUPLICATES, &jerr);
    const char *main_text = json_string_value(json_object_get(doc, "main"));
    struct oc_config_file *files = NULL;
    size_t n = 0;
    if (!main_text || oc_snapshot_files(json_object_get(doc, "files"), &files, &n) != 0) {
        oc_diag_add(diag, NULL, "%s: the run's snapshot is damaged (%s)", path,
                    doc ? "not the shape orch writes" : jerr.text);
        json_decref(doc);
        return NULL;
    }
    struct oc_config *cfg = oc_config_parse_text(main_text, path, files, n, 1, diag);
    json_decref(doc);
    return cfg;
}
