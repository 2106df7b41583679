#ifndef ORCH_PLUGIN_NEWPROJ_H
#define ORCH_PLUGIN_NEWPROJ_H

/* orch-plugin new KIND NAME [DIR]: a buildable project from the SDK's
 * template. Returns an exit code. */
int op_new(const char *argv0, const char *kind, const char *name, const char *dir);

#endif
