/* GET /ui/...: the web UI, on the API's own listener. Its files are in the
 * binary (tools/orchd/ui/, embedded by cmake/embed_dir.cmake), so a path
 * is only ever looked up by exact name in that table: nothing is read
 * from disk, and no "..", encoded or not, can name anything outside it.
 * Every /ui/ answer carries a strict Content-Security-Policy (the UI has
 * no inline script or style and talks to nobody but orchd), nosniff and
 * no-referrer. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "ui_files.h"

void orchd_ui_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                            "base-uri 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
}

static const char *orchd_ui_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i][0]))
            return types[i][1];
    return "application/octet-stream";
}

static const struct orchd_ui_file *orchd_ui_find(const char *name)
{
    for (size_t i = 0; i < orchd_ui_files_count; i++)
        if (!strcmp(orchd_ui_files[i].name, name))
            return &orchd_ui_files[i];
    return NULL;
}

int orchd_ui_serve(struct orchd_req *rq)
{
    if (strcmp(rq->path, "/ui") && strncmp(rq->path, "/ui/", 4))
        return 0;
    rq->ui = 1;
    if (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD")) {
        orchd_fail(rq, 405, "method_not_allowed", "the UI's files are read with GET or HEAD");
        return 1;
    }
    if (!strcmp(rq->path, "/ui")) {
        rq->status = 301;
        rq->stream = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(rq->stream, "Location", "/ui/");
        return 1;
    }
    const char *name = rq->path[4] ? rq->path + 4 : "index.html";
    const struct orchd_ui_file *f = orchd_ui_find(name);
    if (!f) {
        orchd_fail(rq, 404, "not_found", "the UI has no file %s", name);
        return 1;
    }
    rq->status = 200;
    /* PERSISTENT: the bytes are the binary's, never copied or freed. */
    rq->stream = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(rq->stream, "Content-Type", orchd_ui_type(f->name));
    return 1;
}
