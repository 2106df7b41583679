/*
 * orch plugin ABI: versioning and the rules every other header follows.
 *
 * Versioning: a plugin built for ABI M.m loads in a core providing M'.m'
 * only when M == M' and m <= m'. Appending a slot or a field at the end of a
 * struct, a status code, a capability bit or an option type bumps the minor;
 * anything else bumps the major (docs/abi.md).
 *
 * Every struct that crosses the boundary starts with uint32_t struct_size,
 * set by whoever allocates it (the compiler computes it, so it cannot lie).
 * A reader touches a field only if it lies inside struct_size; ORCH_HAS()
 * does that for function slots. Only fixed-width types cross the boundary:
 * no enum, bool, long or bitfields in ABI structs.
 *
 * Ownership (each function and field is tagged with one of these):
 *   borrowed   valid for the duration of the call; copy what you keep.
 *   out:host   allocated by the plugin with host->alloc/strdup, freed by
 *              the core with host->free. libc malloc/free never cross.
 *   static     never freed; valid until the plugin is unloaded (never,
 *              during a process's life: orch does not dlclose plugins).
 *   plugin     allocated and freed by the plugin (its opaque handles);
 *              the core calls the matching release slot exactly once per
 *              successful create/open/attach, error paths included.
 *
 * Threading: every host function is thread-safe. Calls on one plugin handle
 * (a backend, an instance, a store) are serialised by the core; different
 * handles may be used from different threads at once, so plugin-global
 * mutable state must be locked. init/fini run once, on the loading thread.
 */
#ifndef ORCH_ABI_H
#define ORCH_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_ABI_MAJOR 1
#define ORCH_ABI_MINOR 3
#define ORCH_SDK_VERSION "0.1.0"

/* Layout-relevant facts compared at load: pointer size and byte order. */
#define ORCH_STR_(x) #x
#define ORCH_STR(x) ORCH_STR_(x)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ORCH_BUILD_SIG "ptr" ORCH_STR(__SIZEOF_POINTER__) "-be"
#else
#define ORCH_BUILD_SIG "ptr" ORCH_STR(__SIZEOF_POINTER__) "-le"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ORCH_EXPORT __attribute__((visibility("default")))
#define ORCH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ORCH_EXPORT
#define ORCH_PRINTF(f, a)
#endif

/* True when struct T at p is large enough to hold `slot` and it is set. */
#define ORCH_HAS(T, p, slot)                                                   \
    ((p) != NULL &&                                                            \
     (p)->struct_size >= offsetof(T, slot) + sizeof(((T *)0)->slot) &&         \
     (p)->slot != NULL)

/* True when struct T at p is large enough to hold field `f` (data fields). */
#define ORCH_HAS_FIELD(T, p, f)                                                \
    ((p) != NULL && (p)->struct_size >= offsetof(T, f) + sizeof(((T *)0)->f))

#ifdef __cplusplus
}
#endif
#endif
