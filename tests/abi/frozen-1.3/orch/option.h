/* Typed options declared by plugins and validated by the core before any
 * plugin code runs. The core parses each value and writes it at `offset`
 * in a zeroed config struct of the descriptor's config_size, which it owns
 * and frees. C types by option type:
 *   STRING PATH URL ENUM JSON  const char *     (NULL when unset)
 *   INT                        int64_t
 *   BOOL                       int32_t (0 or 1)
 *   DOUBLE                     double
 *   DURATION                   int64_t milliseconds ("30s", "5m", "250ms")
 *   SIZE                       int64_t bytes ("512M", "1G", "4096")
 *   STRING_LIST                struct orch_strlist
 *   STRING_MAP                 struct orch_strmap
 * A PATH value reaches the plugin as written: the core resolves nothing. A
 * relative one is relative to the working directory of the process the
 * plugin runs in, which is the directory orch or orchd was started in
 * (executors inherit it; no orch process changes directory), and under
 * orch-plugin test the case's private directory. A plugin that wants paths
 * relative to something else (the workflow file, the state dir) resolves
 * them itself and documents it.
 */
#ifndef ORCH_OPTION_H
#define ORCH_OPTION_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_OPT_STRING 1u
#define ORCH_OPT_INT 2u
#define ORCH_OPT_BOOL 3u
#define ORCH_OPT_DOUBLE 4u
#define ORCH_OPT_DURATION 5u
#define ORCH_OPT_SIZE 6u
#define ORCH_OPT_ENUM 7u
#define ORCH_OPT_STRING_LIST 8u
#define ORCH_OPT_STRING_MAP 9u
#define ORCH_OPT_PATH 10u
#define ORCH_OPT_URL 11u
#define ORCH_OPT_JSON 12u
#define ORCH_OPT_TYPE_LAST_ 12u

#define ORCH_OPTF_REQUIRED (1u << 0)     /* must be given; no default */
#define ORCH_OPTF_SECRET (1u << 1)       /* only from ${{ secrets.X }}; never printed */
#define ORCH_OPTF_DEPRECATED (1u << 2)   /* warn; deprecated_by names the new one */
#define ORCH_OPTF_EXPERIMENTAL (1u << 3)
#define ORCH_OPTF_MIN (1u << 4)          /* min is set */
#define ORCH_OPTF_MAX (1u << 5)          /* max is set */
/* Since 1.1 (a 1.0 core refuses them as unknown flags, which is the refusal
 * a plugin that relies on them needs). */
#define ORCH_OPTF_SCRIPT (1u << 6)       /* STRING: shell script text. The core
                                            passes ${{ secrets.X }} in it through
                                            an environment variable of the step
                                            and `orch validate` warns when an
                                            untrusted context is pasted into it.
                                            A STRING option named `shell` of the
                                            same plugin is the script's
                                            interpreter: defaults.run.shell of
                                            the file and the workflow fill it
                                            when the step gives the script but
                                            no shell, and a secret is refused in
                                            a script whose shell is not POSIX */
#define ORCH_OPTF_PATH_KIND (1u << 7)    /* STRING: may start with a kind prefix
                                            "word:" (host:, artifact:). The kind
                                            comes only from the literal text of
                                            the file: a template can fill the rest
                                            of a path, never choose its kind */
#define ORCH_OPTF_ALL_ ((1u << 8) - 1u)

/* One element of a static option table; the table is walked by the
 * descriptor's option_size so this struct can grow in a minor. static. */
struct orch_option {
    uint32_t struct_size;
    uint32_t type;               /* ORCH_OPT_* */
    uint32_t flags;              /* ORCH_OPTF_* */
    uint32_t offset;             /* where the parsed value goes in the config struct */
    const char *name;            /* identifier: [a-z][a-z0-9_]* */
    const char *default_value;   /* as the user would write it; NULL = none */
    const char *description;     /* one line, required */
    int64_t min, max;            /* bounds (INT, DURATION ms, SIZE bytes, DOUBLE,
                                    string and list lengths) when flagged */
    const char *const *enum_values; /* ENUM: NULL-terminated */
    const char *deprecated_by;   /* DEPRECATED: the option that replaces it */
};

struct orch_strlist {
    const char *const *items;
    uint32_t count;
};

struct orch_strmap {
    const char *const *keys;
    const char *const *values;
    uint32_t count;
};

/* Convenience initialiser: ORCH_OPTION(struct my_cfg, field, "name",
 * ORCH_OPT_STRING, flags, "default", "description"). */
#define ORCH_OPTION(CFG, field, name_, type_, flags_, def_, desc_)             \
    {                                                                          \
        sizeof(struct orch_option), (type_), (flags_),                         \
            (uint32_t)offsetof(CFG, field), (name_), (def_), (desc_), 0, 0,    \
            NULL, NULL                                                         \
    }

/* Since 1.1 (the struct is 1.0's; only the initialisers are new, so a
 * table written with them loads in a 1.0 core too). The core enforces the
 * bounds and the value set before any plugin code runs, with the option's
 * file:line:col in the error.
 *
 * ORCH_OPTION_ENUM(struct my_cfg, mode, "mode", 0, "fast", my_modes,
 *                  "how to run"), my_modes a NULL-terminated
 * `static const char *const my_modes[] = {"fast", "safe", NULL};`. */
#define ORCH_OPTION_ENUM(CFG, field, name_, flags_, def_, values_, desc_)     \
    {                                                                          \
        sizeof(struct orch_option), ORCH_OPT_ENUM, (flags_),                   \
            (uint32_t)offsetof(CFG, field), (name_), (def_), (desc_), 0, 0,    \
            (values_), NULL                                                    \
    }

/* ORCH_OPTION_RANGE(struct my_cfg, jobs, "jobs", ORCH_OPT_INT, 0, "4", 1, 64,
 * "parallel jobs"): both bounds inclusive, in the type's unit (INT; DURATION
 * in ms; SIZE in bytes; DOUBLE; STRING/PATH/URL length; list and map count).
 * ORCH_OPTION_MIN and ORCH_OPTION_MAX set one bound. */
#define ORCH_OPTION_BOUNDED_(CFG, field, name_, type_, flags_, def_, min_,    \
                             max_, desc_)                                      \
    {                                                                          \
        sizeof(struct orch_option), (type_), (flags_),                         \
            (uint32_t)offsetof(CFG, field), (name_), (def_), (desc_),          \
            (int64_t)(min_), (int64_t)(max_), NULL, NULL                       \
    }
#define ORCH_OPTION_RANGE(CFG, field, name_, type_, flags_, def_, min_, max_,  \
                          desc_)                                               \
    ORCH_OPTION_BOUNDED_(CFG, field, name_, type_,                             \
                         (flags_) | ORCH_OPTF_MIN | ORCH_OPTF_MAX, def_, min_, \
                         max_, desc_)
#define ORCH_OPTION_MIN(CFG, field, name_, type_, flags_, def_, min_, desc_)   \
    ORCH_OPTION_BOUNDED_(CFG, field, name_, type_, (flags_) | ORCH_OPTF_MIN,   \
                         def_, min_, 0, desc_)
#define ORCH_OPTION_MAX(CFG, field, name_, type_, flags_, def_, max_, desc_)   \
    ORCH_OPTION_BOUNDED_(CFG, field, name_, type_, (flags_) | ORCH_OPTF_MAX,   \
                         def_, 0, max_, desc_)

#ifdef __cplusplus
}
#endif
#endif
