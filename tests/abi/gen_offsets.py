#!/usr/bin/env python3
"""Write a C program that prints the offset of every member of every
public struct in the given headers, and the size of each struct:
"struct.member OFFSET" and "sizeof struct SIZE". The ABI test compares
its output with offsets-1.0.txt, so a moved or removed slot fails."""
import re
import sys

out, headers = sys.argv[1], sys.argv[2:]
lines = ['#include <stddef.h>', '#include <stdio.h>', '#include <orch/orch.h>', '',
         'int main(void)', '{']
for h in headers:
    text = re.sub(r'/\*.*?\*/', '', open(h).read(), flags=re.S)
    text = re.sub(r'//[^\n]*', '', text)
    for m in re.finditer(r'struct (orch_\w+) \{(.*?)\n\};', text, flags=re.S):
        name, body = m.group(1), m.group(2)
        for decl in body.split(';'):
            decl = ' '.join(decl.split())
            if not decl or decl.startswith('#'):
                continue
            fp = re.search(r'\(\*\s*(\w+)\)', decl)
            if fp:
                members = [fp.group(1)]
            else:
                parts = decl.split(',')
                members = [re.search(r'(\w+)\s*(\[[^\]]*\])?$', p.strip()).group(1)
                           for p in parts]
            for mem in members:
                lines.append(f'    printf("{name}.{mem} %zu\\n", offsetof(struct {name}, {mem}));')
        lines.append(f'    printf("sizeof {name} %zu\\n", sizeof(struct {name}));')
lines += ['    return 0;', '}', '']
open(out, 'w').write('\n'.join(lines))
