#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""uring-sync's layers: every source file calls only downward.

    layers.py [--cc CC] [--cflags FLAGS] [--dot FILE]

Compiles each tools/uring-sync/*.c on its own and reads its symbols with
nm: a file that uses a function or variable another file defines depends
on that file.  Fails when those dependencies, or the #include "..." lines
between the headers, form a cycle, or when a source file is over 700
lines.  --dot writes the call graph for graphviz.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.realpath(os.path.join(HERE, '..', '..'))
SRC = os.path.join(TOP, 'tools', 'uring-sync')
MAX_LINES = 700


def symbols(cc, cflags, path, tmp):
    obj = os.path.join(tmp, os.path.basename(path) + '.o')
    subprocess.run([cc, *cflags, '-c', path, '-o', obj], check=True, cwd=TOP)
    out = subprocess.run(['nm', obj], check=True, capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == 'U':
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in 'TDBRC':
            defined.add(parts[2])
    return defined, used


def cycle(graph):
    """A cycle of the graph as a list of nodes, or None."""
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if not state.get(n):
            found = visit(n)
            if found:
                return found
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cc', default=os.environ.get('CC', 'cc'))
    ap.add_argument('--cflags', default='-std=gnu11 -O0 -g0 -Iruntime/include -Igenerated/include')
    ap.add_argument('--dot')
    args = ap.parse_args()
    sources = sorted(f for f in os.listdir(SRC) if f.endswith('.c'))
    headers = sorted(f for f in os.listdir(SRC) if f.endswith('.h'))
    bad = []

    for f in sources + headers:
        with open(os.path.join(SRC, f), encoding='utf-8') as fh:
            n = sum(1 for _ in fh)
        if f.endswith('.c') and n > MAX_LINES:
            bad.append('%s: %d lines (at most %d)' % (f, n, MAX_LINES))

    includes = {}
    for f in sources + headers:
        with open(os.path.join(SRC, f), encoding='utf-8') as fh:
            includes[f] = set(re.findall(r'^#include "([^"]+)"', fh.read(), re.M)) - {f}
    hcycle = cycle({h: includes[h] for h in headers})
    if hcycle:
        bad.append('headers include each other: ' + ' -> '.join(hcycle))

    defs, uses = {}, {}
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(4) as pool:
        jobs = {f: pool.submit(symbols, args.cc, args.cflags.split(), os.path.join(SRC, f), tmp) for f in sources}
        for f in sources:
            defs[f], uses[f] = jobs[f].result()
    owner = {}
    for f in sources:
        for s in defs[f]:
            owner[s] = f
    calls = {f: set(owner[s] for s in uses[f] if s in owner) - {f} for f in sources}
    ccycle = cycle(calls)
    if ccycle:
        bad.append('source files call each other: ' + ' -> '.join(ccycle))

    if args.dot:
        with open(args.dot, 'w') as out:
            out.write('digraph uring_sync {\n\trankdir=TB;\n\tnode [shape=box, fontname="monospace"];\n')
            for f in sources:
                for g in sorted(calls[f]):
                    out.write('\t"%s" -> "%s";\n' % (f[:-2], g[:-2]))
            out.write('}\n')
    if bad:
        print('\n'.join(bad))
        sys.exit(1)
    edges = sum(len(v) for v in calls.values())
    print('%d source files, %d headers, %d call edges, no cycle, none over %d lines' %
          (len(sources), len(headers), edges, MAX_LINES))


if __name__ == '__main__':
    main()
