#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make check-man: the man pages as built in MANDIR (BUILD/man).

lint       mandoc -T lint, groff -man -ww -z and man --warnings (what
           lintian runs) print nothing for any page, and man renders each
links      every name in a page's NAME section has a file in the page's
           section (the page, or a symlink to it); every symlink leads to
           the page whose NAME lists it; no page is named twice
synopsis   every section-3 synopsis compiles against the headers, as C after
           #include <safer-ring.h>: each prototype redeclares the function
           (a different type is an error), each struct shown has those
           members with those types at those offsets (and no others unless
           it says so with a comment), each #define is a macro, each
           constant of an enum has the value shown
coverage   every public function, function-like macro and table of the
           headers has a page (or a link); every typedef appears in a
           synopsis; every name a page lists exists
tools      each section-1 page documents every option and environment
           variable its program's --help lists

self-test  (--self-test) mistakes made in a copy of the tree (a wrong type,
           a member left out, a wrong constant, a function that does not
           exist, a page or a link lost) are each reported

Usage: check_man.py MANDIR [--tool NAME=PROGRAM]... | MANDIR --self-test
Environment: CC (gcc), CLANG (clang); run from the top of the source tree.
"""
import argparse
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDES = ["-I", os.path.join(TOP, "runtime", "include"), "-I", os.path.join(TOP, "generated", "include")]
FAILURES = []


def fail(msg):
    FAILURES.append(msg)


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def pages(mandir):
    """{'man3/sr_read.3': path} of the pages, and {'man3/x.3': target} of the links."""
    real, links = {}, {}
    for d in sorted(os.listdir(mandir)):
        if not re.fullmatch(r"man[1-9]", d):
            continue
        for f in sorted(os.listdir(os.path.join(mandir, d))):
            p = os.path.join(mandir, d, f)
            if os.path.islink(p):
                links[f"{d}/{f}"] = os.readlink(p)
            elif os.path.isfile(p):
                real[f"{d}/{f}"] = p
    return real, links


# --- lint ---------------------------------------------------------------------------------

def lint(mandir, real):
    paths = list(real.values())
    r = run(["mandoc", "-T", "lint"] + paths)
    for line in (r.stdout + r.stderr).splitlines():
        fail(f"mandoc: {line.replace(mandir + '/', '')}")
    r = run(["groff", "-man", "-ww", "-z"] + paths)
    for line in (r.stdout + r.stderr).splitlines():
        fail(f"groff -ww: {line}")
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    for rel, p in real.items():
        # As lintian checks pages (manpage-has-errors-from-man).
        r = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", p], env=env)
        for line in r.stderr.splitlines():
            fail(f"man --warnings {rel}: {line}")
        r = run(["man", "-l", p], env=dict(env, MANPAGER="cat", PAGER="cat"))
        if r.returncode or len(r.stdout) < 200:
            fail(f"man -l {rel}: exit {r.returncode}, {len(r.stdout)} bytes")
    print(f"lint: mandoc -T lint, groff -ww, man --warnings: nothing to say about {len(real)} pages; "
          "man -l renders each")


# --- NAME sections and links ----------------------------------------------------------------

def name_section(path):
    """The names a page's NAME section lists."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    try:
        i = lines.index(".SH NAME")
    except ValueError:
        return None
    text = []
    for ln in lines[i + 1:]:
        if ln.startswith(".SH"):
            break
        text.append(ln)
    head = re.split(r"(?:^|\s)\\-(?:\s|$)", " ".join(text), maxsplit=1)[0]
    return [n.replace("\\-", "-") for n in re.split(r"[,\s]+", head) if n]


def links(real, links_):
    names = {}      # "man3/sr_read_submit.3" -> page listing it
    for rel, p in real.items():
        d, f = rel.split("/")
        sec = f.rsplit(".", 1)[1]
        listed = name_section(p)
        if not listed:
            fail(f"{rel}: no NAME section")
            continue
        if f.rsplit(".", 1)[0] not in listed:
            fail(f"{rel}: its NAME section does not list {f.rsplit('.', 1)[0]}")
        for n in listed:
            key = f"{d}/{n}.{sec}"
            if key in names and names[key] != rel:
                fail(f"{key}: listed by both {names[key]} and {rel}")
            names[key] = rel
    for key, rel in sorted(names.items()):
        if key == rel:
            continue
        if key in real:
            fail(f"{rel} lists {key}, which is a page of its own")
        elif key not in links_:
            fail(f"{rel} lists {os.path.basename(key)}, which has no link")
        elif links_[key] != os.path.basename(rel):
            fail(f"{key} links to {links_[key]}, not to {os.path.basename(rel)} which lists it")
    for key, target in sorted(links_.items()):
        if key not in names:
            fail(f"{key} -> {target}: no page lists it")
    print(f"links: {len(links_)} names lead to the page that lists them; {len(real)} pages")
    return names


# --- synopses ---------------------------------------------------------------------------------

def macro_args(s):
    """The arguments of a macro line, as roff quotes them."""
    out, cur, quoted, i = [], None, False, 0
    while i < len(s):
        c = s[i]
        if quoted:
            if c == '"' and s[i + 1:i + 2] == '"':
                cur += '"'
                i += 1
            elif c == '"':
                quoted = False
            else:
                cur += c
        elif c == '"':
            quoted, cur = True, cur or ""
        elif c in " \t":
            if cur is not None:
                out.append(cur)
                cur = None
        else:
            cur = (cur or "") + c
        i += 1
    if cur is not None:
        out.append(cur)
    return out


def unescape(s):
    s = re.sub(r"\\f(\[[A-Z]*\]|[BIRP])", "", s)
    s = s.replace("\\(dq", '"').replace("\\(aq", "'")
    return s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\%", "")


def synopsis_lines(path):
    """[(line number, text)] of the no-fill block of the SYNOPSIS section."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, state = [], 0
    for no, ln in enumerate(lines, 1):
        if state == 0 and ln == ".SH SYNOPSIS":
            state = 1
        elif state == 1 and ln == ".nf":
            state = 2
        elif state == 2:
            if ln in (".fi", ".SH") or ln.startswith(".SH "):
                break
            m = re.match(r"\.([A-Z]{1,2})(?:\s+(.*))?$", ln)
            if ln.startswith(".\\\""):
                continue
            if m and m.group(1) in ("B", "I", "BI", "IB", "BR", "RB", "IR", "RI"):
                args = macro_args(m.group(2) or "")
                sep = " " if m.group(1) in ("B", "I") else ""
                out.append((no, unescape(sep.join(args))))
            elif m and m.group(1) in ("PP", "P", "LP", "sp", "br"):
                out.append((no, ""))
            elif ln.startswith("."):
                fail(f"{path}:{no}: unexpected request in the synopsis: {ln}")
            else:
                out.append((no, unescape(ln)))
    return out


def statements(lines):
    """Group synopsis lines into C statements: [(line number, text)]."""
    out, cur, start, depth = [], [], 0, 0
    for no, t in lines:
        s = re.sub(r"/\*.*?\*/", "", t).strip()
        if not cur and (not s or s.startswith("#")):
            if s:
                out.append((no, s))
            continue
        if not cur:
            start = no
        cur.append(t.strip())
        depth += s.count("{") - s.count("}")
        if depth == 0 and s.endswith(";"):
            out.append((start, "\n".join(cur)))
            cur = []
    if cur:
        out.append((start, "\n".join(cur)))
    return out


def c_of(stmt, n, page):
    """The C that checks one synopsis statement."""
    s = stmt
    m = re.fullmatch(r"#define\s+([A-Za-z_]\w*)(\([^)]*\))?(?:\s+(.*?))?\s*(?:/\*.*\*/)?", s)
    if m:
        out = f"#ifndef {m.group(1)}\n#error \"{page}: {m.group(1)} is not a macro\"\n#endif\n"
        if m.group(3) and not m.group(2) and re.search(r"\w\s*\(", m.group(3)):
            # A call (a table read through the library): the same type.
            out += (f"_Static_assert(__builtin_types_compatible_p(__typeof__({m.group(1)}), "
                    f"__typeof__({m.group(3)})), \"{page}: {m.group(1)} is not {m.group(3)}\");\n")
        elif m.group(3) and not m.group(2):
            out += f"_Static_assert(({m.group(1)}) == ({m.group(3)}), \"{page}: {m.group(1)} is not {m.group(3)}\");\n"
        return out
    if s.startswith("#include"):
        return s + "\n"
    body = re.sub(r"/\*.*?\*/", "", s, flags=re.S).strip()
    m = re.fullmatch(r"(struct\s+\w+)\s*\{(.*)\}\s*;", body, re.S)
    if m:
        # A struct whose comment says it has private members is checked
        # for the members shown; any other, for exactly those.
        return struct_check(m.group(1), m.group(2), re.search(r"/\*[^*]*\bprivate\b", s) is not None, n, page)
    m = re.fullmatch(r"enum(?:\s+\w+)?\s*\{(.*)\}\s*;", body, re.S)
    if m:
        out = []
        for e in [x.strip() for x in m.group(1).split(",") if x.strip()]:
            name, _, val = e.partition("=")
            name = name.strip()
            out.append(f"_Static_assert(sizeof({name}) > 0, \"{page}: {name}\");")
            if val.strip():
                out.append(f"_Static_assert(({name}) == ({val.strip()}), \"{page}: {name} is not {val.strip()}\");")
        return "\n".join(out) + "\n"
    # What the page declares must be declared already (a redeclaration
    # checks the type; a first declaration would check nothing).
    if re.fullmatch(r"struct\s+\w+\s*;", body):
        return body + "\n"
    if body.startswith("typedef"):
        m = re.search(r"\(\s*\*\s*(\w+)\s*\)|(\w+)\s*;$", body)
        name = m.group(1) or m.group(2)
        return f"_Static_assert(sizeof({name}) > 0, \"{page}: {name}\"); {body}\n"
    if body.startswith("extern"):
        name = re.search(r"(\w+)\s*(\[\w*\])?\s*;$", body).group(1)
        return f"_Static_assert(sizeof(&({name})) > 0, \"{page}: {name}\"); {body}\n"
    # A prototype: the name in parentheses, so a function-like macro of
    # the same name does not expand.
    m = re.fullmatch(r"(.*?)\b([A-Za-z_]\w*)\s*(\(.*\))\s*;", body, re.S)
    if not m:
        return f"#error \"{page}: cannot read this as C: {body.splitlines()[0][:60]}\"\n"
    name = m.group(2)
    return f"_Static_assert(sizeof(&({name})) > 0, \"{page}: {name}\"); {m.group(1)}({name}){m.group(3)};\n"


def struct_check(tag, members, partial, n, page):
    mem = []
    for d in [x.strip() for x in members.split(";") if x.strip()]:
        first, *more = d.split(",")     # unsigned major, minor, patch
        m = re.fullmatch(r"(.*?)(\w+)\s*(\[\w+\])?", first.strip(), re.S)
        mem.append((m.group(1).strip(), m.group(2), m.group(3) or ""))
        for x in more:
            mm = re.fullmatch(r"\s*(\w+)\s*(\[\w+\])?\s*", x)
            mem.append((m.group(1).strip(), mm.group(1), mm.group(2) or ""))
    shadow = f"sr__man_{n}"
    out = [f"struct {shadow} {{"] + [f"\t{t} {name}{arr};" for t, name, arr in mem] + ["};"]
    for t, name, arr in mem:
        out.append(f"_Static_assert(__builtin_types_compatible_p(__typeof__((({tag} *)0)->{name}), {t}{arr}), "
                   f"\"{page}: {tag}: {name} is not {t}{arr}\");")
        if not partial:
            out.append(f"_Static_assert(offsetof({tag}, {name}) == offsetof(struct {shadow}, {name}), "
                       f"\"{page}: {tag}: {name} is not where the page shows it\");")
    if not partial:
        out.append(f"_Static_assert(sizeof({tag}) == sizeof(struct {shadow}), "
                   f"\"{page}: {tag} has members the page does not show\");")
    return "\n".join(out) + "\n"


def synopses(real):
    src = ["#define _GNU_SOURCE", "#include <stddef.h>", "#include <safer-ring.h>"]
    checked = 0
    shown = set()
    for rel, p in real.items():
        if not rel.startswith("man3/"):
            continue
        for n, (no, stmt) in enumerate(statements(synopsis_lines(p))):
            src.append(f"#line {no} \"{rel}\"")
            src.append(c_of(stmt, f"{re.sub(r'[^a-z0-9]', '_', rel)}_{n}", rel))
            shown.update(re.findall(r"\bsr_\w+", stmt))
            checked += 1
    with tempfile.TemporaryDirectory() as t:
        c = os.path.join(t, "synopses.c")
        with open(c, "w") as f:
            f.write("\n".join(src) + "\n")
        cc = os.environ.get("CC", "gcc")
        r = run([cc, "-std=gnu11", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wno-unused"] + INCLUDES + [c])
        for line in r.stderr.splitlines():
            if "error" in line or "warning" in line:
                fail(f"synopsis: {line.replace(t + '/', '')}")
        if r.returncode and not any("synopsis" in f for f in FAILURES):
            fail(f"synopsis: {cc} failed: {r.stderr[:400]}")
    print(f"synopsis: {checked} declarations of the section-3 synopses compile against the headers")
    return shown


# --- coverage -----------------------------------------------------------------------------------

def public_names():
    """Functions, tables and typedefs the headers declare, and their function-like macros."""
    clang = os.environ.get("CLANG", "clang")
    src = "#define _GNU_SOURCE\n#include <safer-ring.h>\n"
    r = run([clang, "-Xclang", "-ast-dump", "-fsyntax-only", "-fno-color-diagnostics", "-x", "c", "-"] + INCLUDES,
            input=src)
    if r.returncode:
        fail(f"coverage: {clang} cannot read the headers: {r.stderr[:300]}")
        return {}, set()
    decls = {}
    for m in re.finditer(r"^[|`]-(FunctionDecl|VarDecl|TypedefDecl) 0x[0-9a-f]+ <([^>]*)>.*? (sr_[a-z]\w*) '",
                         r.stdout, re.M):
        decls.setdefault(m.group(3), m.group(1))
    cc = os.environ.get("CC", "gcc")
    r = run([cc, "-E", "-dM", "-x", "c", "-"] + INCLUDES, input=src)
    macros = set(re.findall(r"^#define (sr_[a-z]\w*)\(", r.stdout, re.M))
    # Object-like macros that read a table through the library (sr_op_table).
    macros |= set(re.findall(r"^#define (sr_[a-z]\w*) \(sr_\w+_get\(\)\)$", r.stdout, re.M))
    return decls, macros


def coverage(real, names, shown):
    decls, macros = public_names()
    have = {os.path.basename(k).rsplit(".", 1)[0] for k in names if k.startswith("man3/")}
    missing = sorted(n for n, kind in decls.items() if kind != "TypedefDecl" and n not in have)
    missing += sorted(n for n in macros if n not in have and n not in decls)
    for n in missing:
        fail(f"coverage: {n} ({decls.get(n, 'macro')}) has no man page")
    for n, kind in sorted(decls.items()):
        if kind == "TypedefDecl" and n not in shown:
            fail(f"coverage: typedef {n} is in no synopsis")
    for n in sorted(have):
        if re.fullmatch(r"sr_\w+", n) and n not in decls and n not in macros:
            fail(f"coverage: a page documents {n}, which the headers do not declare")
    print(f"coverage: {sum(k != 'TypedefDecl' for k in decls.values())} functions and tables and "
          f"{len(macros - set(decls))} macros of the headers have pages; "
          f"{sum(k == 'TypedefDecl' for k in decls.values())} typedefs are in synopses")


# --- the tools -------------------------------------------------------------------------------------

def tools(real, tool_args):
    for spec in tool_args:
        name, _, prog = spec.partition("=")
        rel = f"man1/{name}.1"
        if rel not in real:
            fail(f"tools: {name} has no page {rel}")
            continue
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(os.path.dirname(os.path.abspath(prog)))
                   if "/inst/" in prog else os.environ.get("LD_LIBRARY_PATH", ""))
        r = run([prog, "--help"], env=env)
        if r.returncode:
            fail(f"tools: {prog} --help exits {r.returncode}")
            continue
        page = run(["man", "-l", real[rel]], env=dict(os.environ, MANWIDTH="200", MANPAGER="cat", LC_ALL="C.UTF-8"))
        text = re.sub(r".\x08", "", page.stdout)
        words = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", r.stdout))
        words |= set(re.findall(r"\b((?:SR|CONF|URING_SYNC)_[A-Z_]+)\b", r.stdout))
        missing = sorted(w for w in words if not re.search(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", text))
        for w in missing:
            fail(f"tools: {rel} does not mention {w} (in {name} --help)")
        print(f"tools: {rel} documents the {len(words)} options and variables of {name} --help")


# Mistakes the checks must catch, each in a copy of the tree: (what, page,
# line to change, its replacement (None: delete the page), expected failure).
MUTATIONS = [
    ("a parameter's type", "man3/sr_read.3", '.BI "struct sr_read_op sr_read(int " fd',
     '.BI "struct sr_read_op sr_read(long " fd', "conflicting types for"),
    ("a completion member's type", "man3/sr_read.3", '.BI "    uint32_t " flags ;', '.BI "    int32_t " flags ;',
     "flags is not int32_t"),
    ("a member left out", "man3/sr_ring_create.3", '.BI "    unsigned " max_inflight', None,
     "has members the page does not show"),
    ("a function that does not exist", "man3/sr_last_error.3", ".B const char *sr_last_error(void);",
     ".B const char *sr_last_error(void);\n.B int sr_last_errno(void);", "sr_last_errno"),
    ("a constant's value", "man3/sr_ring_create.3", '.B "    SR_RING_MOVABLE    = 1 << 8,"',
     '.B "    SR_RING_MOVABLE    = 1 << 9,"', "SR_RING_MOVABLE is not"),
    ("a page lost", "man3/sr_pool_create.3", None, None, "has no man page"),
    ("a link lost", "man3/sr_read_submit.3", None, None, "which has no link"),
]


def self_test(mandir, tools_args):
    """Each mistake of MUTATIONS, made in a copy of the tree, is reported."""
    import shutil
    global FAILURES
    missed = []
    for what, rel, old, new, expect in MUTATIONS:
        with tempfile.TemporaryDirectory() as t:
            d = os.path.join(t, "man")
            shutil.copytree(mandir, d, symlinks=True)
            p = os.path.join(d, rel)
            if old is None:
                os.unlink(p)
            else:
                with open(p) as f:
                    text = f.read()
                if old not in text:
                    missed.append(f"{what}: {rel} has no line {old!r} to change")
                    continue
                if new is None:     # the line that starts with old goes
                    text = re.sub(r"(?m)^" + re.escape(old) + r".*\n", "", text, count=1)
                else:
                    text = text.replace(old, new, 1)
                with open(p, "w") as f:
                    f.write(text)
            FAILURES = []
            real, links_ = pages(d)
            with contextlib.redirect_stdout(io.StringIO()):
                names = links(real, links_)
                shown = synopses(real)
                coverage(real, names, shown)
            if not any(expect in f for f in FAILURES):
                missed.append(f"{what} ({rel}) was not reported: {FAILURES[:3]}")
    FAILURES = [f"self-test: {m}" for m in missed]
    print(f"self-test: {len(MUTATIONS) - len(missed)} of {len(MUTATIONS)} mistakes made in a copy of the pages "
          "are reported")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mandir")
    ap.add_argument("--tool", action="append", default=[])
    ap.add_argument("--self-test", action="store_true", help="check that the checks catch mistakes")
    args = ap.parse_args()
    mandir = os.path.normpath(args.mandir)
    if args.self_test:
        self_test(mandir, args.tool)
        for f in FAILURES:
            print("FAIL:", f)
        return 1 if FAILURES else 0
    real, links_ = pages(mandir)
    if not real:
        print(f"check-man: no pages in {mandir}")
        return 1
    lint(mandir, real)
    names = links(real, links_)
    shown = synopses(real)
    coverage(real, names, shown)
    tools(real, args.tool)
    for f in FAILURES:
        print("FAIL:", f)
    n3 = sum(r.startswith("man3/") for r in real)
    print(f"check-man: {'FAILED' if FAILURES else 'passed'}: {len(real)} pages ({n3} in section 3, "
          f"{sum(r.startswith('man1/') for r in real)} in 1, {sum(r.startswith('man7/') for r in real)} in 7), "
          f"{len(links_)} links")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
