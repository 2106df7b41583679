#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct cf_report {
    char *suite;
    struct cf_report_case **cases;
    size_t n, cap;
    int tap_stdout;
    const char *tap_path, *junit_path;
    int64_t t0;
};

struct cf_report *cf_report_new(const char *suite, const struct orch_conformance_opts *o)
{
    struct cf_report *r = oc_xcalloc(1, sizeof *r);
    r->suite = oc_xstrdup(suite);
    r->tap_stdout = o->tap_path && !strcmp(o->tap_path, "-");
    r->tap_path = o->tap_path;
    r->junit_path = o->junit_path;
    r->t0 = oc_now_mono_ns();
    return r;
}

struct cf_report_case *cf_report_case(struct cf_report *r, const char *name)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 32;
        r->cases = oc_xrealloc(r->cases, r->cap * sizeof *r->cases);
    }
    struct cf_report_case *c = oc_xcalloc(1, sizeof *c);
    c->name = oc_xstrdup(name);
    r->cases[r->n++] = c;
    return c;
}

void cf_report_add_failure(struct cf_report_case *c, const char *msg)
{
    c->failures = oc_xrealloc(c->failures, (c->n_failures + 1) * sizeof *c->failures);
    c->failures[c->n_failures++] = oc_xstrdup(msg);
}

void cf_report_case_done(struct cf_report *r, struct cf_report_case *c)
{
    if (r->tap_stdout)
        return;
    if (c->n_failures) {
        printf("FAIL  %s (%lld ms)\n", c->name, (long long)c->ms);
        for (size_t i = 0; i < c->n_failures; i++)
            printf("      %s\n", c->failures[i]);
    } else if (c->skip) {
        printf("SKIP  %s (%s)\n", c->name, c->skip);
    } else {
        printf("PASS  %s (%lld ms)\n", c->name, (long long)c->ms);
    }
    fflush(stdout);
}

static void cf_tap(struct cf_report *r, FILE *f)
{
    fprintf(f, "TAP version 13\n1..%zu\n", r->n);
    for (size_t i = 0; i < r->n; i++) {
        struct cf_report_case *c = r->cases[i];
        if (c->n_failures) {
            fprintf(f, "not ok %zu - %s\n", i + 1, c->name);
            for (size_t k = 0; k < c->n_failures; k++)
                fprintf(f, "  # %s\n", c->failures[k]);
        } else if (c->skip) {
            fprintf(f, "ok %zu - %s # SKIP %s\n", i + 1, c->name, c->skip);
        } else {
            fprintf(f, "ok %zu - %s\n", i + 1, c->name);
        }
    }
}

static void cf_xml(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t')
                fputc(' ', f);
            else
                fputc(*s, f);
        }
    }
}

static void cf_junit(struct cf_report *r, FILE *f, size_t failed, size_t skipped, double secs)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"");
    cf_xml(f, r->suite);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", r->n,
            failed, skipped, secs);
    for (size_t i = 0; i < r->n; i++) {
        struct cf_report_case *c = r->cases[i];
        fprintf(f, "  <testcase classname=\"");
        cf_xml(f, r->suite);
        fprintf(f, "\" name=\"");
        cf_xml(f, c->name);
        fprintf(f, "\" time=\"%.3f\">", (double)c->ms / 1000.0);
        if (c->n_failures) {
            fprintf(f, "<failure message=\"");
            cf_xml(f, c->failures[0]);
            fprintf(f, "\">");
            for (size_t k = 0; k < c->n_failures; k++) {
                cf_xml(f, c->failures[k]);
                fputc('\n', f);
            }
            fprintf(f, "</failure>");
        } else if (c->skip) {
            fprintf(f, "<skipped message=\"");
            cf_xml(f, c->skip);
            fprintf(f, "\"/>");
        }
        fprintf(f, "</testcase>\n");
    }
    fprintf(f, "</testsuite>\n");
}

static int cf_write_file(const char *path, struct cf_report *r, size_t failed,
                         size_t skipped, double secs, int junit)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "orch-plugin: cannot write %s: %m\n", path);
        return -1;
    }
    if (junit)
        cf_junit(r, f, failed, skipped, secs);
    else
        cf_tap(r, f);
    return fclose(f);
}

int cf_report_finish(struct cf_report *r)
{
    size_t failed = 0, skipped = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->cases[i]->n_failures)
            failed++;
        else if (r->cases[i]->skip)
            skipped++;
    }
    double secs = (double)(oc_now_mono_ns() - r->t0) / 1e9;
    int io = 0;
    if (r->tap_stdout)
        cf_tap(r, stdout);
    else {
        printf("orch-plugin: %s: %zu passed, %zu failed, %zu skipped (%zu cases, %.1f s)\n",
               r->suite, r->n - failed - skipped, failed, skipped, r->n, secs);
        if (r->tap_path && cf_write_file(r->tap_path, r, failed, skipped, secs, 0))
            io = 1;
    }
    if (r->junit_path && cf_write_file(r->junit_path, r, failed, skipped, secs, 1))
        io = 1;
    fflush(stdout);
    for (size_t i = 0; i < r->n; i++) {
        struct cf_report_case *c = r->cases[i];
        for (size_t k = 0; k < c->n_failures; k++)
            free(c->failures[k]);
        free(c->failures);
        free(c->skip);
        free(c->last_note);
        free(c->name);
        free(c);
    }
    free(r->cases);
    free(r->suite);
    free(r);
    if (io)
        return ORCH_CONFORMANCE_USAGE;
    return failed ? ORCH_CONFORMANCE_FAIL : ORCH_CONFORMANCE_PASS;
}
