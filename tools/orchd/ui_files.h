/* The web UI's files, embedded at build time by cmake/embed_dir.cmake
 * (the generated ui_files.c defines the table). */
#ifndef ORCHD_UI_FILES_H
#define ORCHD_UI_FILES_H

#include <stddef.h>

struct orchd_ui_file {
    const char *name; /* relative to the UI's directory: "index.html", "js/dag.js" */
    const unsigned char *data;
    size_t len;
};

extern const struct orchd_ui_file orchd_ui_files[];
extern const size_t orchd_ui_files_count;

#endif
