/* Case results as text (PASS/FAIL/SKIP lines and a summary), TAP and
 * JUnit XML. */
#ifndef CF_REPORT_H
#define CF_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <orch/conformance.h>

struct cf_report_case {
    char *name;
    char **failures;
    size_t n_failures;
    char *skip;        /* reason, when skipped */
    char *last_note;
    int64_t ms;
};

struct cf_report;
struct cf_report *cf_report_new(const char *suite, const struct orch_conformance_opts *o);
/* conformance.yaml's option_sets: the cases reported from begin to end
 * belong to the set `name` ("step/run [name]" in every listing); end
 * prints the set's summary. One report, so one TAP plan and one JUnit
 * file hold every set (a <testsuite> each). */
void cf_report_begin_set(struct cf_report *r, const char *name);
void cf_report_end_set(struct cf_report *r);
struct cf_report_case *cf_report_case(struct cf_report *r, const char *name);
void cf_report_add_failure(struct cf_report_case *c, const char *msg);
/* Prints the case's line as soon as it is known. */
void cf_report_case_done(struct cf_report *r, struct cf_report_case *c);
/* Summary, TAP/JUnit files; frees r. Returns the exit code (0 or 1). */
int cf_report_finish(struct cf_report *r);

#endif
