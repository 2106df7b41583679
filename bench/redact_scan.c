/* The redactor's per-byte cost on 100 MB of log text, cut in 4 KiB chunks
 * as a pipe delivers them (docs/benchmarks.md, "Stream redaction"):
 *   ./redact_scan N     N secrets of the usual shapes (0 to 5)
 *   ./redact_scan big   one 2,000-line secret (4,000 forms)
 *   ./redact_scan worst one 2,000-line secret whose lines all start with
 *                       what every output line contains (the worst case)
 * Build: cc -O2 -Icore -Isdk/include bench/redact_scan.c build/core/liborchcore.a \
 *        -lnettle -ljansson -lyaml -ldl -lm -o redact_scan */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template.h"
#include "util.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "1";
    size_t total = (size_t)100 << 20, chunk = 4096;
    const char *line = "2024-01-01T00:00:00Z INFO worker[42]: processed item 123456 in "
                       "0.5ms ok=true host=abc-def ghp_x gh pabc client\n";
    char *buf = oc_xmalloc(total);
    size_t ll = strlen(line);
    for (size_t i = 0; i < total; i++)
        buf[i] = line[i % ll];
    struct oc_redactor *r = oc_redactor_new();
    if (!strcmp(mode, "big") || !strcmp(mode, "worst")) {
        struct oc_buf sec = {0};
        for (unsigned i = 0; i < 2000; i++) {
            if (!strcmp(mode, "big"))
                oc_buf_addf(&sec, "    %08x%08x-%u: v%08uXyZ\n", i * 2654435761u, i * 40503u, i,
                            i * 7919);
            else
                oc_buf_addf(&sec, "    client-key: k%08uXyZ\n", i * 7919);
        }
        oc_redactor_add(r, sec.data);
        oc_buf_free(&sec);
    } else {
        static const char *const secrets[] = {
            "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5", "postgres://u:pw@db/x", "hunter2hunter2",
            "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
        for (int i = 0; i < atoi(mode) && i < 5; i++)
            oc_redactor_add(r, secrets[i]);
    }
    struct oc_buf held = {0}, out = {0};
    clock_t t0 = clock();
    for (size_t at = 0; at < total; at += chunk) {
        oc_redact_stream(r, &held, buf + at, chunk, &out);
        out.len = 0;
    }
    oc_redact_stream_end(r, &held, &out);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("%s: %.3f s CPU per 100 MB, %.2f ns/byte\n", mode, s, s * 1e9 / (double)total);
    oc_buf_free(&held);
    oc_buf_free(&out);
    oc_redactor_free(r);
    free(buf);
    return 0;
}
