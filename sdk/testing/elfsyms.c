#define _GNU_SOURCE
#include "elfsyms.h"

#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int cf_elf_walk(const unsigned char *m, size_t size,
                       void (*fn)(void *, const char *, int, int), void *ud,
                       const char **why)
{
    if (size < sizeof(Elf64_Ehdr) || memcmp(m, ELFMAG, SELFMAG) != 0) {
        *why = "not an ELF file";
        return -1;
    }
    if (m[EI_CLASS] != ELFCLASS64) {
        *why = "not a 64-bit ELF object";
        return -1;
    }
    const Elf64_Ehdr *eh = (const void *)m;
    if (eh->e_type != ET_DYN) {
        *why = "not a shared object (ET_DYN)";
        return -1;
    }
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size) {
        *why = "bad section header table";
        return -1;
    }
    const Elf64_Shdr *sh = (const void *)(m + eh->e_shoff);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM)
            continue;
        if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_offset + sh[i].sh_size > size ||
            sh[i].sh_entsize != sizeof(Elf64_Sym)) {
            *why = "bad .dynsym section";
            return -1;
        }
        const Elf64_Shdr *strs = &sh[sh[i].sh_link];
        if (strs->sh_offset + strs->sh_size > size) {
            *why = "bad .dynstr section";
            return -1;
        }
        const char *str = (const char *)m + strs->sh_offset;
        const Elf64_Sym *sym = (const void *)(m + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
        for (size_t k = 1; k < n; k++) {
            if (sym[k].st_name >= strs->sh_size || !str[sym[k].st_name])
                continue;
            int bind = ELF64_ST_BIND(sym[k].st_info);
            fn(ud, str + sym[k].st_name, sym[k].st_shndx != SHN_UNDEF,
               bind == STB_GLOBAL || bind == STB_WEAK);
        }
        return 0;
    }
    *why = "no dynamic symbol table";
    return -1;
}

int cf_elf_dynsyms(const char *path, void (*fn)(void *, const char *, int, int), void *ud,
                   const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = "cannot open the file";
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        *why = "cannot stat the file, or it is empty";
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        *why = "cannot map the file";
        return -1;
    }
    int rc = cf_elf_walk(m, (size_t)st.st_size, fn, ud, why);
    munmap(m, (size_t)st.st_size);
    return rc;
}
