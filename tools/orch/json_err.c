/* --json's error document. With --json, standard output is JSON whatever
 * happens: the command's data, or, when the command fails without having
 * printed any, one document
 *     {"error": {"code": "...", "message": "...", "exit": N, "details": [...]}}
 * (docs/schemas/cli-error.schema.json). The messages are those cli_err
 * prints on standard error, which still gets them for a person; the code
 * is the most precise one said (the server's, "config", "store", ...), else
 * the exit status's. A command whose own document states the failure
 * (validate's "valid": false, a run's run.finished event) printed data:
 * no second document follows it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static struct {
    int on;
    int printed;             /* data went to stdout */
    char *code;
    json_t *details;         /* every message, in order */
} cli_je;

void cli_json_errors(int on)
{
    cli_je.on = on;
}

void cli_json_printed(void)
{
    cli_je.printed = 1;
}

void cli_fail_code(const char *code)
{
    if (cli_je.on && !cli_je.code)
        cli_je.code = oc_xstrdup(code);
}

void cli_json_said(const char *msg)
{
    if (!cli_je.on)
        return;
    if (!cli_je.details)
        cli_je.details = json_array();
    json_array_append_new(cli_je.details, json_string(msg));
}

void cli_fail_err(const struct orch_error *err)
{
    /* The API's names for the same errors (tools/orchd/reply.c). */
    switch (err->code) {
    case ORCH_E_NOT_FOUND: cli_fail_code("not_found"); break;
    case ORCH_E_CONFLICT:
    case ORCH_E_EXISTS: cli_fail_code("conflict"); break;
    case ORCH_E_INVALID_ARG: cli_fail_code("invalid"); break;
    case ORCH_E_CONFIG: cli_fail_code("config"); break;
    default: break;
    }
}

static const char *cli_code_of_exit(int rc)
{
    switch (rc) {
    case CLI_EXIT_USAGE: return "usage";
    case 128 + 2: return "interrupted";
    case 128 + 15: return "terminated";
    default: return "failed";
    }
}

static const char *cli_default_message(int rc)
{
    return rc == CLI_EXIT_USAGE ? "bad usage (orch help COMMAND prints the usage)"
                                : "the command failed";
}

int cli_json_finish(int rc)
{
    if (cli_je.on && rc != CLI_EXIT_OK && !cli_je.printed) {
        json_t *details = cli_je.details ? json_incref(cli_je.details) : json_array();
        json_t *first = json_array_get(details, 0);
        json_t *doc = json_pack("{s:{s:s,s:s,s:i,s:o}}", "error", "code",
                                cli_je.code ? cli_je.code : cli_code_of_exit(rc), "message",
                                first ? json_string_value(first) : cli_default_message(rc),
                                "exit", rc, "details", details);
        /* As cli_print_json prints, not through it: common.c calls here. */
        json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(doc);
    }
    fflush(stdout);
    free(cli_je.code);
    json_decref(cli_je.details);
    memset(&cli_je, 0, sizeof cli_je);
    return rc;
}

_Noreturn void cli_exit(int rc)
{
    exit(cli_json_finish(rc));
}
