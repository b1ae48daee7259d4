# SPDX-License-Identifier: MIT
"""Spellings for man pages (roff, the man(7) macros): escaped text, and
prototypes as synopsis lines (bold types, italic names, wrapped to fit an
80-column terminal).  The templates apply them as filters."""
import re

from .reference import Func, Struct, Typedef

WIDTH = 72      # a synopsis line, within the page's indent on 80 columns


def _escape(s):
    """Backslashes, and a control character (. or ') starting a line."""
    return _lead(s.replace("\\", "\\e"))


def text(s):
    """Prose: `code` spans in bold; a minus sign where a hyphen would be
    wrong (-EBUSY, -1, --json, ->); each sentence on a line of its own,
    lines of at most 80 bytes; no line starts with a control character."""
    s = str(s).replace("\\", "\\e")
    s = re.sub(r"(^|[\s(\[/])-(?=[-A-Za-z0-9])", r"\1\\-", s)
    s = re.sub(r"(?<=\\-)-", r"\\-", s)
    s = s.replace("->", "\\->")
    s = re.sub(r"`([^`\n]+)`", r"\\fB\1\\fR", s)
    out = []
    for para in s.split("\n"):
        for sentence in re.split(r"(?<=[.;:!?])\s{2,}|(?<=\.)\s(?=[A-Z])", para.strip()):
            if sentence:
                out += wrap(sentence)
    return _lead("\n".join(out))


def _lead(s):
    """No line may start with a control character."""
    return re.sub(r"(?m)^([.'])", r"\\&\1", s)


def wrap(s, width=80):
    """Words into lines of at most width bytes (a longer word stands alone)."""
    lines, cur = [], ""
    for w in s.split():
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur or not lines:
        lines.append(cur)
    return lines


def name_line(names, summary):
    """The NAME section: every name the page documents, then \\- and its
    summary (kept on the line of the first word after it: tools reading
    the section look for " \\- ")."""
    line = ", ".join(names) + " \\-\0" + text(summary).replace("\n", " ")
    return _lead("\n".join(wrap(line)).replace("\0", " "))


def code(s):
    """A line of C in an example (.EX): every minus is one."""
    return _escape(str(s)).replace("-", "\\-")


def _quote(t):
    return f'"{t}"' if (" " in t or not t or '"' in t) else t


def _macro(tokens):
    """One line of alternating bold and italic tokens, as .BI or .IB."""
    merged = []
    for font, t in tokens:
        if merged and merged[-1][0] == font:
            merged[-1] = (font, merged[-1][1] + t)
        else:
            merged.append((font, t))
    if len(merged) == 1:
        return f".{merged[0][0]} {_quote(merged[0][1])}"
    name = merged[0][0] + merged[1][0]
    return f".{name} " + " ".join(_quote(t) for _, t in merged)


def _call(head, params, tail):
    """head(params)tail, wrapped after a comma when a line would be too long."""
    lines, cur, width = [], [("B", head)], len(head)
    indent = " " * (len(head) if len(head) <= 40 else 8)
    for i, p in enumerate(params):
        sep = "," if i + 1 < len(params) else tail
        ptype = p.type + ("" if p.type.endswith("*") else " ")
        piece = len(ptype) + len(p.name) + len(sep) + (1 if i else 0)
        if i and width + piece > WIDTH:
            lines.append(cur)
            cur, width = [("B", indent)], len(indent)
        elif i:
            cur.append(("B", " "))
            width += 1
        cur += [("B", ptype), ("I", p.name), ("B", sep)]
        width += len(ptype) + len(p.name) + len(sep)
    if not params:
        cur.append(("B", "void" + tail))
    lines.append(cur)
    return [_macro(t) for t in lines]


def synopsis(x):
    """The roff lines of a prototype, a typedef or a struct."""
    if isinstance(x, Func):
        sp = "" if x.ret.endswith("*") else " "
        return _call(f"{x.ret}{sp}{x.name}(", x.params, ");")
    if isinstance(x, Typedef):
        return _call(f"typedef void (*{x.name})(", x.params, ");")
    if isinstance(x, Struct):
        if x.members is None:
            return [f".B {x.name};"]
        out = [f".B {x.name} {{"]
        for m in x.members:
            sp = "" if m.type.endswith("*") else " "
            out.append(_macro([("B", f"    {m.type}{sp}"), ("I", m.name), ("B", m.suffix + ";")]))
        out.append(".B };")
        return out
    raise TypeError(f"no synopsis for {type(x).__name__}")
