#!/bin/bash
# Every in-tree plugin has the layout and names docs/architecture.md sets
# ("Plugin layout and names"): plugin.c as the entry file, <name>.h as its
# private header, files named by concern, and no error message that starts
# with the plugin's own name or kind (scripts/check-plugin-layout.py); and
# the checker itself finds each broken rule in a tree made to break them.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
chk="$ORCH_SOURCE_DIR/scripts/check-plugin-layout.py"

set +e
python3 "$chk" >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0 "the in-tree plugins follow the layout and naming rule"
pass "the in-tree plugins follow the layout and naming rule"

# A tree with one plugin that breaks every rule, one that keeps them, and
# one (store-s3) whose only fault is a message that names itself.
p="$T/tree/plugins"
mkdir -p "$p/backend-bad" "$p/step-good" "$p/store-s3" "$T/tree/core"
printf 'int oc_x;\n' >"$T/tree/core/host.c"
printf 'int lb_y;\n' >"$p/backend-bad/host.c"
cat >"$p/backend-bad/bad_plugin.c" <<'C'
ORCH_PLUGIN_DEFINE(backend, bad, d, h)
static int f(void) { return h->error_set(err, 1, "backend bad: %s", "x"); }
C
cat >"$p/backend-bad/exec.c" <<'C'
static int g(void) { return h->error_set(err, 1,
                                          "bad: cannot %s", "y"); }
C
cat >"$p/step-good/plugin.c" <<'C'
ORCH_PLUGIN_DEFINE(step, good, d, h)
static int f(void) { return h->error_set(err, 1, "cannot %s", "x"); }
C
printf 'ORCH_PLUGIN_DEFINE(store, s3, d, h)\n' >"$p/store-s3/plugin.c"
printf 'int f(void) { return h->error_set(e, 1, "s3: no"); }\n' >"$p/store-s3/blobs.c"
set +e
python3 "$chk" "$T/tree" >"$T/out" 2>&1
RC=$?
set -e
expect_rc 1 "a plugin that breaks the rule fails the check"
expect_out "plugins/backend-bad: no plugin.c" "a missing entry file is named"
expect_out "bad_plugin.c defines the entry: it belongs in plugin.c" "an entry outside plugin.c"
expect_out "bad_plugin.c carries the plugin's name" "a file named after the plugin"
expect_out 'bad_plugin.c:2: error message "backend bad: %s" starts with "backend bad"' \
  "a message with the plugin's kind and name"
expect_out 'exec.c:2: error message "bad: cannot %s" starts with "bad"' \
  "a message with the plugin's name, the format on the next line"
expect_out "3 .c files but no private header bad.h" "a missing private header"
expect_out "host.c has the name of a core/ file" "a file named like one of the core's"
expect_out 'plugins/store-s3: blobs.c:1: error message "s3: no" starts with "s3"' \
  "a message with the first word of the plugin's name"
expect_no_out "plugins/step-good" "a plugin that keeps the rule is not named"
pass "check-plugin-layout.py finds each broken rule"
