/* The dynamic symbol table of a shared object, read from the file without
 * loading it: what `orch-plugin check` needs to see exports and imports. */
#ifndef CF_ELFSYMS_H
#define CF_ELFSYMS_H

/* Calls fn for every named dynamic symbol; defined = not SHN_UNDEF,
 * global = binding GLOBAL or WEAK. Returns 0, or -1 with *why (static). */
int cf_elf_dynsyms(const char *path,
                   void (*fn)(void *ud, const char *name, int defined, int global),
                   void *ud, const char **why);

#endif
