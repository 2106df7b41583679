#define _GNU_SOURCE
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The cases of one option set: cases[first .. first + n). */
struct cf_report_set {
    char *name;
    size_t first, n;
    int64_t t0, t1;
};

struct cf_report {
    char *suite;
    struct cf_report_case **cases;
    size_t n, cap;
    struct cf_report_set *sets;
    size_t nsets;
    int in_set;
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

static void cf_counts(struct cf_report *r, size_t first, size_t n, size_t *failed,
                      size_t *skipped)
{
    *failed = *skipped = 0;
    for (size_t i = first; i < first + n; i++) {
        if (r->cases[i]->n_failures)
            (*failed)++;
        else if (r->cases[i]->skip)
            (*skipped)++;
    }
}

static void cf_summary(struct cf_report *r, const char *suite, size_t first, size_t n,
                       int64_t t0)
{
    size_t failed, skipped;
    cf_counts(r, first, n, &failed, &skipped);
    double secs = (double)(oc_now_mono_ns() - t0) / 1e9;
    printf("orch-plugin: %s: %zu passed, %zu failed, %zu skipped (%zu cases, %.1f s)\n",
           suite, n - failed - skipped, failed, skipped, n, secs);
}

void cf_report_begin_set(struct cf_report *r, const char *name)
{
    r->sets = oc_xrealloc(r->sets, (r->nsets + 1) * sizeof *r->sets);
    r->sets[r->nsets++] = (struct cf_report_set){
        .name = oc_xstrdup(name), .first = r->n, .t0 = oc_now_mono_ns()};
    r->in_set = 1;
}

void cf_report_end_set(struct cf_report *r)
{
    if (!r->in_set)
        return;
    struct cf_report_set *s = &r->sets[r->nsets - 1];
    s->n = r->n - s->first;
    s->t1 = oc_now_mono_ns();
    r->in_set = 0;
    if (r->tap_stdout)
        return;
    char *suite = oc_xasprintf("%s[%s]", r->suite, s->name);
    cf_summary(r, suite, s->first, s->n, s->t0);
    free(suite);
    fflush(stdout);
}

struct cf_report_case *cf_report_case(struct cf_report *r, const char *name)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 32;
        r->cases = oc_xrealloc(r->cases, r->cap * sizeof *r->cases);
    }
    struct cf_report_case *c = oc_xcalloc(1, sizeof *c);
    c->name = r->in_set ? oc_xasprintf("%s [%s]", name, r->sets[r->nsets - 1].name)
                        : oc_xstrdup(name);
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

static void cf_junit_suite(struct cf_report *r, FILE *f, const char *suite, size_t first,
                           size_t n, double secs, const char *indent)
{
    size_t failed, skipped;
    cf_counts(r, first, n, &failed, &skipped);
    fprintf(f, "%s<testsuite name=\"", indent);
    cf_xml(f, suite);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", n,
            failed, skipped, secs);
    for (size_t i = first; i < first + n; i++) {
        struct cf_report_case *c = r->cases[i];
        fprintf(f, "%s  <testcase classname=\"", indent);
        cf_xml(f, suite);
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
    fprintf(f, "%s</testsuite>\n", indent);
}

/* One <testsuite>, as before option sets; with sets, one per set under
 * <testsuites>. */
static void cf_junit(struct cf_report *r, FILE *f, double secs)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (!r->nsets) {
        cf_junit_suite(r, f, r->suite, 0, r->n, secs, "");
        return;
    }
    size_t failed, skipped;
    cf_counts(r, 0, r->n, &failed, &skipped);
    fprintf(f, "<testsuites name=\"");
    cf_xml(f, r->suite);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", r->n,
            failed, skipped, secs);
    for (size_t k = 0; k < r->nsets; k++) {
        const struct cf_report_set *s = &r->sets[k];
        char *suite = oc_xasprintf("%s[%s]", r->suite, s->name);
        cf_junit_suite(r, f, suite, s->first, s->n, (double)(s->t1 - s->t0) / 1e9, "  ");
        free(suite);
    }
    fprintf(f, "</testsuites>\n");
}

static int cf_write_file(const char *path, struct cf_report *r, double secs, int junit)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "orch-plugin: cannot write %s: %m\n", path);
        return -1;
    }
    if (junit)
        cf_junit(r, f, secs);
    else
        cf_tap(r, f);
    return fclose(f);
}

int cf_report_finish(struct cf_report *r)
{
    cf_report_end_set(r);
    size_t failed, skipped;
    cf_counts(r, 0, r->n, &failed, &skipped);
    double secs = (double)(oc_now_mono_ns() - r->t0) / 1e9;
    int io = 0;
    if (r->tap_stdout)
        cf_tap(r, stdout);
    else {
        if (r->nsets != 1) /* a single set's summary was its own */
            cf_summary(r, r->suite, 0, r->n, r->t0);
        if (r->tap_path && cf_write_file(r->tap_path, r, secs, 0))
            io = 1;
    }
    if (r->junit_path && cf_write_file(r->junit_path, r, secs, 1))
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
    for (size_t k = 0; k < r->nsets; k++)
        free(r->sets[k].name);
    free(r->sets);
    free(r->suite);
    free(r);
    if (io)
        return ORCH_CONFORMANCE_USAGE;
    return failed ? ORCH_CONFORMANCE_FAIL : ORCH_CONFORMANCE_PASS;
}
