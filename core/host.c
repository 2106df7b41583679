/* The orch_host table handed to every plugin: which function fills each
 * slot, and nothing else. The slots live by concern (host_alloc.c,
 * host_error.c, log.c, host_ctx.c, host_text.c); they call each other and
 * the core, never back into this table, so a slot's file does not depend
 * on the table it is part of. */
#include "host.h"

#include "errors.h"
#include "host_slots.h"
#include "host_text.h"
#include "util.h"

static const struct orch_host oc_host_table = {
    .struct_size = sizeof(struct orch_host),
    .abi_major = ORCH_ABI_MAJOR,
    .abi_minor = ORCH_ABI_MINOR,
    .log = oc_h_log,
    .log_stream = oc_h_log_stream,
    .alloc = oc_h_alloc,
    .calloc = oc_h_calloc,
    .realloc = oc_h_realloc,
    .free = oc_h_free,
    .strdup = oc_h_strdup,
    .error_set = oc_h_error_set,
    .strerror = orch_strerror,
    .secret_get = oc_h_secret_get,
    .secret_release = oc_h_secret_release,
    .is_cancelled = oc_h_is_cancelled,
    .cancel_fd = oc_h_cancel_fd,
    .deadline_ns = oc_h_deadline_ns,
    .now_mono_ns = oc_now_mono_ns,
    .now_real_ns = oc_now_real_ns,
    .output_set = oc_h_output_set,
    .emit = oc_h_emit,
    .artifact_put = oc_h_artifact_put,
    .artifact_get = oc_h_artifact_get,
    .tmpdir = oc_h_tmpdir,
    .ctx_get = oc_h_ctx_get,
    .is_dry_run = oc_h_is_dry_run,
    .inst_exec = oc_h_inst_exec,
    .inst_put_file = oc_h_inst_put_file,
    .inst_get_file = oc_h_inst_get_file,
    .inst_list_dir = oc_h_inst_list_dir,
    .inst_workdir = oc_h_inst_workdir,
    .strdup_printf = oc_h_strdup_printf,
    .json_quote = oc_h_json_quote,
    .output_set_len = oc_h_output_set_len,
};

const struct orch_host *oc_host(void)
{
    return &oc_host_table;
}
