/* orch-plugin check: what can be known without running a slot. Each check
 * is a case of its own (in its own child), so one broken property does not
 * hide the others. */
#define _GNU_SOURCE
#include "cf.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "elfsyms.h"
#include "host.h"
#include "options.h"
#include "registry.h"

struct cf_syms {
    struct cf *c;
    int has_entry;
};

/* Symbols the toolchain and the sanitizers add to every shared object. */
static int cf_toolchain_symbol(const char *n)
{
    static const char *const exact[] = {"_init", "_fini", "_edata", "_end", "__bss_start",
                                        NULL};
    for (size_t i = 0; exact[i]; i++)
        if (!strcmp(n, exact[i]))
            return 1;
    return !strncmp(n, "__asan", 6) || !strncmp(n, "___asan", 7) ||
           !strncmp(n, "__odr_asan", 10) || !strncmp(n, "__ubsan", 7) ||
           !strncmp(n, "__sanitizer", 11) || !strncmp(n, "__lsan", 6);
}

static void cf_on_export(void *ud, const char *name, int defined, int global)
{
    struct cf_syms *s = ud;
    if (!defined || !global)
        return;
    if (!strcmp(name, ORCH_PLUGIN_ENTRY_SYMBOL))
        s->has_entry = 1;
    else if (!cf_toolchain_symbol(name))
        cf_fail(s->c, "exports '%s' besides %s: build with -fvisibility=hidden (the SDK's "
                      "orch_add_plugin does) and make helpers static",
                name, ORCH_PLUGIN_ENTRY_SYMBOL);
}

static void cf_check_exports(struct cf *c)
{
    struct cf_syms s = {.c = c};
    const char *why;
    if (cf_elf_dynsyms(c->plugin_path, cf_on_export, &s, &why) != 0) {
        cf_fail(c, "%s: %s", c->plugin_path, why);
        return;
    }
    if (!s.has_entry)
        cf_fail(c, "no exported %s symbol: use ORCH_PLUGIN_DEFINE", ORCH_PLUGIN_ENTRY_SYMBOL);
}

static void cf_on_import(void *ud, const char *name, int defined, int global)
{
    struct cf_syms *s = ud;
    (void)global;
    if (!defined && (!strncmp(name, "orch_", 5) || !strncmp(name, "oc_", 3)))
        cf_fail(s->c, "undefined symbol '%s': a plugin reaches orch only through the host "
                      "table and must not link against orch's libraries", name);
}

static void cf_check_imports(struct cf *c)
{
    struct cf_syms s = {.c = c};
    const char *why;
    if (cf_elf_dynsyms(c->plugin_path, cf_on_import, &s, &why) != 0)
        cf_fail(c, "%s: %s", c->plugin_path, why);
}

/* The descriptor exactly as the plugin returns it, before any check. */
static const struct orch_plugin_desc *cf_raw_desc(struct cf *c)
{
    void *h = dlopen(c->plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        cf_fail(c, "dlopen: %s", dlerror());
        return NULL;
    }
    orch_plugin_entry_fn entry;
    *(void **)&entry = dlsym(h, ORCH_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        cf_fail(c, "no %s symbol", ORCH_PLUGIN_ENTRY_SYMBOL);
        return NULL;
    }
    const struct orch_plugin_desc *d = NULL;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = entry(oc_host(), &d, &err);
    if (rc != ORCH_OK) {
        cf_fail_err(c, rc, &err, "the entry refused to load");
        oc_error_clear(&err);
        return NULL;
    }
    if (!d)
        cf_fail(c, "the entry returned no descriptor");
    return d;
}

static void cf_check_load(struct cf *c)
{
    struct orch_error err;
    oc_error_init(&err);
    struct oc_registry *reg = oc_registry_new(NULL, 0);
    oc_registry_skip_builtins(reg);
    if (!oc_registry_load_file(reg, c->plugin_path, &err))
        cf_fail(c, "%s", oc_error_text(&err));
    oc_error_clear(&err);
}

static uint32_t cf_vtable_size(uint32_t kind)
{
    switch (kind) {
    case ORCH_KIND_BACKEND: return sizeof(struct orch_backend_vtable);
    case ORCH_KIND_STEP: return sizeof(struct orch_step_vtable);
    case ORCH_KIND_STORE: return sizeof(struct orch_store_vtable);
    default: return 0;
    }
}

static void cf_check_sizes(struct cf *c)
{
    const struct orch_plugin_desc *d = cf_raw_desc(c);
    if (!d)
        return;
    if (d->struct_size < sizeof *d) {
        cf_fail(c, "descriptor struct_size %u is smaller than the ABI 1.0 descriptor (%zu)",
                d->struct_size, sizeof *d);
        return;
    }
    if (d->abi_major != ORCH_ABI_MAJOR)
        cf_fail(c, "ABI major %u is not this SDK's major %d", d->abi_major, ORCH_ABI_MAJOR);
    if (d->abi_minor > ORCH_ABI_MINOR)
        cf_fail(c, "ABI minor %u is newer than this orch's %d.%d", d->abi_minor,
                ORCH_ABI_MAJOR, ORCH_ABI_MINOR);
    if (!d->build_sig || strcmp(d->build_sig, ORCH_BUILD_SIG))
        cf_fail(c, "build signature '%s' is not '%s'", d->build_sig ? d->build_sig : "",
                ORCH_BUILD_SIG);
    uint32_t vts = cf_vtable_size(d->kind);
    if (!vts)
        cf_fail(c, "unknown kind %u", d->kind);
    else if (!d->vtable)
        cf_fail(c, "no vtable");
    else {
        if (d->vtable_size < vts && d->abi_minor == ORCH_ABI_MINOR)
            cf_fail(c, "vtable_size %u is smaller than the %s vtable (%u)", d->vtable_size,
                    oc_kind_name(d->kind), vts);
        if (*(const uint32_t *)d->vtable != d->vtable_size)
            cf_fail(c, "the vtable's struct_size %u differs from the descriptor's "
                       "vtable_size %u", *(const uint32_t *)d->vtable, d->vtable_size);
    }
    if (d->option_count && d->option_size < sizeof(struct orch_option))
        cf_fail(c, "option_size %u is smaller than struct orch_option (%zu)", d->option_size,
                sizeof(struct orch_option));
    if (d->kind == ORCH_KIND_STEP && d->vtable) {
        const struct orch_step_vtable *vt = d->vtable;
        if (vt->output_count && vt->output_size < sizeof(struct orch_output_decl))
            cf_fail(c, "output_size %u is smaller than struct orch_output_decl (%zu)",
                    vt->output_size, sizeof(struct orch_output_decl));
    }
}

static void cf_check_fields(struct cf *c)
{
    const struct orch_plugin_desc *d = cf_raw_desc(c);
    if (!d || d->struct_size < sizeof *d)
        return;
    const char *fields[][2] = {{"name", d->name}, {"version", d->version},
                               {"description", d->description},
                               {"sdk_version", d->sdk_version}};
    for (size_t i = 0; i < 4; i++)
        if (!fields[i][1] || !*fields[i][1])
            cf_fail(c, "required descriptor field %s is empty", fields[i][0]);
    if (!d->name || !*d->name)
        return;
    const char *base = strrchr(c->plugin_path, '/');
    base = base ? base + 1 : c->plugin_path;
    char *want = oc_xasprintf("%s-%s.so", oc_kind_name(d->kind), d->name);
    if (strcmp(base, want))
        cf_fail(c, "the file is named '%s' but the descriptor declares %s %s: name it '%s'",
                base, oc_kind_name(d->kind), d->name, want);
    free(want);
    for (const char *p = d->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) {
            cf_fail(c, "name '%s' has '%c': use lower-case letters, digits, '-' and '_'",
                    d->name, *p);
            break;
        }
}

static void cf_check_options(struct cf *c)
{
    const struct orch_plugin_desc *d = cf_raw_desc(c);
    if (!d || d->struct_size < sizeof *d)
        return;
    if (d->option_count && (!d->options || d->option_size < sizeof(struct orch_option))) {
        cf_fail(c, "option table missing or option_size too small");
        return;
    }
    struct orch_error err;
    oc_error_init(&err);
    if (oc_options_check_table(d, &err) != ORCH_OK)
        cf_fail(c, "%s", oc_error_text(&err));
    oc_error_clear(&err);
}

static void cf_on_slot(void *ud, const char *msg)
{
    cf_fail(ud, "%s", msg);
}

static void cf_check_caps(struct cf *c)
{
    const struct orch_plugin_desc *d = cf_raw_desc(c);
    if (!d || d->struct_size < sizeof *d || !d->vtable || !cf_vtable_size(d->kind))
        return;
    oc_plugin_slot_report(d, cf_on_slot, c);
}

const struct cf_case cf_check_cases[] = {
    {"check/exports", 0, 0, cf_check_exports},
    {"check/imports", 0, 0, cf_check_imports},
    {"check/abi-and-sizes", 0, 0, cf_check_sizes},
    {"check/required-fields", 0, 0, cf_check_fields},
    {"check/option-table", 0, 0, cf_check_options},
    {"check/caps-vs-slots", 0, 0, cf_check_caps},
    {"check/load", 0, 0, cf_check_load},
    {NULL, 0, 0, NULL},
};
