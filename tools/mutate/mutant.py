# SPDX-License-Identifier: MIT
"""One mutant: a single edit of one file, and the key that names it.

The key is a stable description, not a position: the file, the enclosing
function, the operator, the source line(s) the edit is on (whitespace
folded) and the edit itself, plus #N when the same edit could be made at
several places on identical lines of one function.  It survives code
moving around; it changes when the mutated line itself changes, and then
a judgement made about the old line (equivalent.txt) no longer applies.
"""
import difflib
import re


def fold(text):
    return re.sub(r"\s+", " ", text).strip()


class Mutant:
    def __init__(self, path, func, op, start, end, repl, src, line, orig=None):
        self.path, self.func, self.op = path, func, op
        self.start, self.end, self.repl = start, end, repl
        self.line = line
        self.orig = src[start:end] if orig is None else orig
        ls = src.rfind("\n", 0, start) + 1
        le = src.find("\n", end)
        self.context = fold(src[ls:le if le >= 0 else len(src)])
        self.key = None
        # Filled in by the run.
        self.status = None	# killed, timeout, survived, equivalent, stillborn
        self.stage = None	# the stage that killed it (or timed out)
        self.detail = ""	# failing tests, or the compiler's complaint
        self.seconds = 0.0
        self.reason = None	# equivalent: why

    def base_key(self):
        edit = f"{fold(self.orig)} -> {fold(self.repl)}"
        if fold(self.orig) == self.context:
            return f"{self.path} | {self.func} | {self.op} | {edit}"
        return f"{self.path} | {self.func} | {self.op} | {self.context} | {edit}"

    def apply(self, src):
        return src[:self.start] + self.repl + src[self.end:]

    def diff(self, src):
        new = self.apply(src)
        lines = difflib.unified_diff(src.splitlines(keepends=True), new.splitlines(keepends=True),
                                     f"a/{self.path}", f"b/{self.path}", n=1)
        return "".join(l if l.endswith("\n") else l + "\n" for l in lines)

    def to_json(self, src=None):
        d = {
            "key": self.key, "file": self.path, "line": self.line, "function": self.func, "operator": self.op,
            "original": self.orig, "replacement": self.repl, "status": self.status, "stage": self.stage,
            "detail": self.detail, "seconds": round(self.seconds, 2),
        }
        if self.reason:
            d["reason"] = self.reason
        if src is not None:
            d["diff"] = self.diff(src)
        return d


def assign_keys(muts):
    """Give each mutant its key; #N tells apart the same edit on identical lines."""
    seen = {}
    for m in sorted(muts, key=lambda m: (m.path, m.start, m.end, m.op, m.repl)):
        k = m.base_key()
        seen[k] = seen.get(k, 0) + 1
        m.key = k if seen[k] == 1 else f"{k} | #{seen[k]}"
    return muts
