# SPDX-License-Identifier: MIT
"""Mutants of Python source (the generator), found with the ast module.

The edits are made on the text at the nodes' positions, so a mutant
changes exactly the code it names and its diff is one line or two.
Operators as for C: a dropped guard (if ...: raise/return), a negated
condition, a flipped bound or equality, and/or swapped, a +1/-1 dropped,
a call statement deleted.
"""
import ast
import re

from mutant import Mutant

FLIP = {ast.Lt: "<=", ast.LtE: "<", ast.Gt: ">=", ast.GtE: ">", ast.Eq: "!=", ast.NotEq: "==",
        ast.In: "not in", ast.NotIn: "in", ast.Is: "is not", ast.IsNot: "is"}
OPNAME = {ast.Lt: "bound", ast.LtE: "bound", ast.Gt: "bound", ast.GtE: "bound", ast.Eq: "eqneq",
          ast.NotEq: "eqneq", ast.In: "eqneq", ast.NotIn: "eqneq", ast.Is: "eqneq", ast.IsNot: "eqneq"}
OPTEXT = re.compile(r"not\s+in\b|is\s+not\b|<=|>=|==|!=|<|>|\bin\b|\bis\b")
# Calls whose statement is not worth deleting: output for people.
QUIET = {"print"}


class PyFile:
    def __init__(self, path, src):
        self.path, self.src = path, src
        self.lines = src.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.mutants = []

    def off(self, lineno, col):
        """Character offset of (line, UTF-8 byte column)."""
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="replace"))

    def span(self, node):
        return self.off(node.lineno, node.col_offset), self.off(node.end_lineno, node.end_col_offset)

    def add(self, func, op, start, end, repl, line, orig=None):
        self.mutants.append(Mutant(self.path, func, op, start, end, repl, self.src, line, orig=orig))

    def run(self):
        tree = ast.parse(self.src)
        self.visit(tree, "<module>")
        return self.mutants

    def visit(self, node, func):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = child.name if func == "<module>" else f"{func}.{child.name}"
                self.visit(child, name)
                continue
            self.node(child, func)
            self.visit(child, func)

    def node(self, n, func):
        if isinstance(n, ast.Compare):
            prev = n.left
            for op, right in zip(n.ops, n.comparators):
                a = self.span(prev)[1]
                b = self.span(right)[0]
                m = OPTEXT.search(self.src, a, b)
                if m and type(op) in FLIP:
                    self.add(func, OPNAME[type(op)], m.start(), m.end(), FLIP[type(op)], n.lineno)
                prev = right
        elif isinstance(n, ast.BoolOp):
            word = "and" if isinstance(n.op, ast.And) else "or"
            for left, right in zip(n.values, n.values[1:]):
                a, b = self.span(left)[1], self.span(right)[0]
                m = re.search(rf"\b{word}\b", self.src[a:b])
                if m:
                    self.add(func, "andor", a + m.start(), a + m.end(), "or" if word == "and" else "and",
                             n.lineno)
        elif isinstance(n, ast.If):
            s, e = self.span(n.test)
            cond = self.src[s:e]
            if not n.orelse and any(isinstance(b, (ast.Raise, ast.Return, ast.Continue, ast.Break))
                                    for b in n.body):
                self.add(func, "guard", s, e, f"({cond}) and False", n.lineno, orig=cond)
            elif not (isinstance(n.test, ast.Compare) and len(n.test.ops) == 1):
                self.add(func, "negate", s, e, f"not ({cond})", n.lineno, orig=cond)
        elif isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub)) and \
                isinstance(n.right, ast.Constant) and n.right.value == 1 and type(n.right.value) is int:
            s, e = self.span(n)
            ls, le = self.span(n.left)
            self.add(func, "arith1", s, e, self.src[ls:le], n.lineno, orig=self.src[s:e])
        elif isinstance(n, ast.Expr) and isinstance(n.value, ast.Call):
            f = n.value.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name not in QUIET:
                s, e = self.span(n)
                self.add(func, "call_del", s, e, "pass", n.lineno)
        elif isinstance(n, ast.Return) and isinstance(n.value, ast.Constant) and \
                isinstance(n.value.value, bool):
            s, e = self.span(n)
            self.add(func, "retbool", s, e, f"return {not n.value.value}", n.lineno)


def mutants(path, src):
    return PyFile(path, src).run()
