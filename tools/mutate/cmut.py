# SPDX-License-Identifier: MIT
"""Mutants of C source, made by operators from the code as it is now.

A small lexer (comments, strings and preprocessor lines are never touched)
and a statement scanner find function bodies, if statements, returns and
expression statements; each operator turns what it recognises into edits
(start, end, replacement) of the file's text.  Every mutant is one edit.
"""
import re

from mutant import Mutant

PUNCT = sorted(["...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
                "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "##"], key=len, reverse=True)
IDENT = re.compile(r"[A-Za-z_]\w*")
NUMBER = re.compile(r"\.?\d(?:[eEpP][+-]|[\w.])*")

# Calls whose loss is a classic bug: something not given back, freed,
# unlocked, closed or reset (on an error path or not).
RELEASE = re.compile(r"(free|put|return|unlock|close|untake|release|forget|poison|recycle|unpick|destroy|"
                     r"unregister|munmap|closed|unpend|exit|drain|publish|discard|cancel)", re.I)
# Values a reset assigns: the state a field goes back to.
RESET_VALUES = {"0", "NULL", "false", "true", "-1", "SR__NONE", "0U", "0u"}
CONTROL = {"if", "while", "for", "switch"}


class Tok:
    __slots__ = ("kind", "text", "start", "end", "line")

    def __init__(self, kind, text, start, end, line):
        self.kind, self.text, self.start, self.end, self.line = kind, text, start, end, line

    def __repr__(self):
        return f"Tok({self.kind},{self.text!r},{self.line})"


def tokenize(src):
    toks = []
    i, n, line = 0, len(src), 1
    at_line_start = True
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += src.count("\n", i, j)
            i = j
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "#" and at_line_start:
            # A directive, with its continuation lines (and comments in it).
            j = i
            while j < n:
                if src[j] == "\n" and src[j - 1] != "\\":
                    break
                if src.startswith("/*", j):
                    k = src.find("*/", j + 2)
                    j = n if k < 0 else k + 2
                    continue
                j += 1
            line += src.count("\n", i, j)
            toks.append(Tok("pp", src[i:j], i, j, line))
            i = j
            continue
        at_line_start = False
        if c == '"' or c == "'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            j += 1
            toks.append(Tok("str" if c == '"' else "chr", src[i:j], i, j, line))
            i = j
            continue
        m = IDENT.match(src, i)
        if m:
            toks.append(Tok("id", m.group(), i, m.end(), line))
            i = m.end()
            continue
        m = NUMBER.match(src, i)
        if m:
            toks.append(Tok("num", m.group(), i, m.end(), line))
            i = m.end()
            continue
        for p in PUNCT:
            if src.startswith(p, i):
                toks.append(Tok("punct", p, i, i + len(p), line))
                i += len(p)
                break
        else:
            toks.append(Tok("punct", c, i, i + 1, line))
            i += 1
    return [t for t in toks if t.kind != "pp"]


def match_close(toks, i):
    """Index of the bracket closing the one at toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    want = [pairs[toks[i].text]]
    j = i + 1
    while j < len(toks):
        t = toks[j].text
        if toks[j].kind == "punct":
            if t in pairs:
                want.append(pairs[t])
            elif t in (")", "]", "}"):
                if t != want[-1]:
                    raise ValueError(f"line {toks[j].line}: unbalanced {t}")
                want.pop()
                if not want:
                    return j
        j += 1
    raise ValueError(f"line {toks[i].line}: unclosed {toks[i].text}")


def functions(toks):
    """(name, open brace index, close brace index) of every function body."""
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.text == "{" and t.kind == "punct":
            close = match_close(toks, i)
            if i >= 2 and toks[i - 1].kind == "str" and toks[i - 2].text == "extern":
                i += 1	# extern "C" { ... }: its contents are top level
                continue
            name = None
            j = i - 1
            while j >= 0 and toks[j].text == ")":
                k = j
                depth = 0
                while k >= 0:
                    if toks[k].text == ")":
                        depth += 1
                    elif toks[k].text == "(":
                        depth -= 1
                        if depth == 0:
                            break
                    k -= 1
                if k > 0 and toks[k - 1].kind == "id":
                    if toks[k - 1].text == "__attribute__":
                        j = k - 2
                        continue
                    name = toks[k - 1].text
                break
            if name and name not in CONTROL:
                out.append((name, i, close))
            i = close + 1
            continue
        i += 1
    return out


class Stmt:
    """A statement: kind, token span [a, b] (inclusive), and parts."""
    __slots__ = ("kind", "a", "b", "cond", "body", "orelse", "step")

    def __init__(self, kind, a, b, cond=None, body=None, orelse=None, step=None):
        self.kind, self.a, self.b = kind, a, b
        self.cond, self.body, self.orelse, self.step = cond, body, orelse, step


class Scanner:
    """Statements of one function body (recursive descent over the tokens)."""

    def __init__(self, toks):
        self.toks = toks
        self.stmts = []
        self.for_steps = []	# token spans of for loops' third clauses

    def text(self, i):
        return self.toks[i].text if i < len(self.toks) else ""

    def block(self, i):
        close = match_close(self.toks, i)
        j = i + 1
        while j < close:
            j = self.stmt(j) + 1
        st = Stmt("block", i, close)
        self.stmts.append(st)
        return close

    def to_semicolon(self, i):
        j = i
        while self.text(j) != ";":
            if self.text(j) in ("(", "[", "{"):
                j = match_close(self.toks, j)
            j += 1
            if j >= len(self.toks):
                raise ValueError(f"line {self.toks[i].line}: no ; after statement")
        return j

    def stmt(self, i):
        """Scan the statement at i; returns the index of its last token."""
        t = self.text(i)
        if t == "{":
            return self.block(i)
        if t == ";":
            return i
        if t in ("if", "while", "switch"):
            close = match_close(self.toks, i + 1)
            body = close + 1
            end = self.stmt(body)
            orelse = None
            if t == "if" and self.text(end + 1) == "else":
                orelse = end + 2
                end = self.stmt(orelse)
            self.stmts.append(Stmt(t, i, end, cond=(i + 1, close), body=body, orelse=orelse))
            return end
        if t == "for":
            close = match_close(self.toks, i + 1)
            semis = [k for k in range(i + 2, close) if self.text(k) == ";"]
            if len(semis) >= 2:
                self.for_steps.append((semis[-1] + 1, close - 1))
            end = self.stmt(close + 1)
            self.stmts.append(Stmt("for", i, end, cond=(i + 1, close), body=close + 1))
            return end
        if t == "do":
            end = self.stmt(i + 1)
            # while ( ... ) ;
            close = match_close(self.toks, end + 2)
            self.stmts.append(Stmt("do", i, close + 1, cond=(end + 2, close), body=i + 1))
            return close + 1
        if t in ("case", "default"):
            j = i
            while self.text(j) != ":":
                j += 1
            return j
        if self.toks[i].kind == "id" and self.text(i + 1) == ":" and t not in ("return",):
            return i + 1	# a label
        end = self.to_semicolon(i)
        kind = t if t in ("return", "goto", "break", "continue") else "expr"
        self.stmts.append(Stmt(kind, i, end))
        return end


def lvalue(toks, a, b):
    """Do toks[a..b] (inclusive) form an lvalue: x, *x, x->y, x.y[z], ...?"""
    j = a
    while j <= b and toks[j].text == "*":
        j += 1
    if j > b or toks[j].kind != "id":
        return False
    j += 1
    while j <= b:
        t = toks[j].text
        if t in ("->", ".") and j + 1 <= b and toks[j + 1].kind == "id":
            j += 2
        elif t == "[":
            j = match_close(toks, j) + 1
        else:
            return False
    return True


def operand_end(t):
    return t.kind in ("id", "num") or t.text in (")", "]")


class CFile:
    """The mutants of one C file."""

    def __init__(self, path, src):
        self.path, self.src = path, src
        self.toks = tokenize(src)
        self.mutants = []

    def span(self, a, b):
        return self.toks[a].start, self.toks[b].end

    def add(self, func, op, a, b, repl, orig=None, from_prev=False):
        s, e = self.span(a, b)
        if from_prev:
            s = self.toks[a - 1].end	# "x - 1" -> "x", not "x "
        self.mutants.append(Mutant(self.path, func, op, s, e, repl, self.src, self.toks[a].line,
                                   orig=orig))

    def run(self):
        for name, lo, hi in functions(self.toks):
            body = self.toks[lo:hi + 1]
            sc = Scanner(body)
            sc.block(0)
            self.function(name, lo, body, sc)
        return self.mutants

    def function(self, name, base, toks, sc):
        def A(i):
            return base + i

        steps = set()
        for a, b in sc.for_steps:
            steps.update(range(a, b + 1))
        stmt_tokens = {}
        for st in sc.stmts:
            if st.kind == "expr":
                stmt_tokens[st.a] = st
        # Token operators.
        for i, t in enumerate(toks):
            if t.kind != "punct":
                continue
            x = t.text
            if x in ("<", "<=", ">", ">="):
                flip = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}[x]
                self.add(name, "bound", A(i), A(i), flip)
            elif x in ("==", "!="):
                self.add(name, "eqneq", A(i), A(i), "!=" if x == "==" else "==")
            elif x in ("&&", "||"):
                self.add(name, "andor", A(i), A(i), "||" if x == "&&" else "&&")
            elif x in ("+", "-") and i + 1 < len(toks) and toks[i + 1].text in ("1", "1U", "1u") and \
                    i > 0 and operand_end(toks[i - 1]) and \
                    (i + 2 >= len(toks) or toks[i + 2].text not in ("*", "/", "%", "<<", ">>")):
                self.add(name, "arith1", A(i), A(i + 1), "", orig=f"{x} {toks[i + 1].text}", from_prev=True)
            elif x in ("++", "--") and i not in steps:
                self.incdec_expr(name, toks, i, A, stmt_tokens)
        # Statement operators.
        for st in sc.stmts:
            if st.kind == "if":
                ca, cb = st.cond
                cond = self.src[toks[ca + 1].start:toks[cb - 1].end]
                # A guard (if (bad) return ...;) is dropped; other conditions are
                # negated, unless one == or != is all there is (eqneq flips it).
                if st.orelse is None and self.is_guard(toks, st.body):
                    self.add(name, "guard", A(ca + 1), A(cb - 1), f"({cond}) && 0", orig=cond)
                elif not self.single_equality(toks, ca + 1, cb - 1):
                    self.add(name, "negate", A(ca + 1), A(cb - 1), f"!({cond})", orig=cond)
            elif st.kind == "return":
                self.returns(name, toks, st, A)
            elif st.kind == "expr":
                self.expr_stmt(name, toks, st, A)

    @staticmethod
    def single_equality(toks, a, b):
        # sr__likely(x == y) is x == y for this purpose.
        while toks[a].text in ("sr__likely", "sr__unlikely", "(") and toks[b].text == ")":
            o = a + 1 if toks[a].text != "(" else a
            if toks[o].text != "(" or match_close(toks, o) != b:
                break
            a, b = o + 1, b - 1
        depth, eq = 0, 0
        for j in range(a, b + 1):
            x = toks[j].text
            if x in ("(", "[", "{"):
                depth += 1
            elif x in (")", "]", "}"):
                depth -= 1
            elif depth == 0 and x in ("&&", "||", "?"):
                return False
            elif depth == 0 and x in ("==", "!="):
                eq += 1
        return eq == 1

    @staticmethod
    def is_guard(toks, body):
        t = toks[body].text
        if t in ("return", "goto", "break", "continue"):
            return True
        if t != "{":
            return False
        close = match_close(toks, body)
        depth = 0
        for j in range(body + 1, close):
            x = toks[j].text
            if x in ("{", "(", "["):
                depth += 1
            elif x in ("}", ")", "]"):
                depth -= 1
            elif depth == 0 and x in ("return", "goto"):
                return True
        return False

    def incdec_expr(self, name, toks, i, A, stmt_tokens):
        """++x / x++ inside an expression: the value without the update."""
        x = toks[i].text
        sign = "+" if x == "++" else "-"
        # Prefix: ++ lvalue
        j = i + 1
        end = None
        if j < len(toks) and (toks[j].kind == "id" or toks[j].text == "*"):
            k = j
            while k + 1 < len(toks) and lvalue(toks, j, k + 1):
                k += 1
            if lvalue(toks, j, k):
                end = k
        if end is not None and not (i > 0 and operand_end(toks[i - 1])):
            if i in stmt_tokens:
                return	# a statement: the statement operator handles it
            lv = self.src[toks[j].start:toks[end].end]
            self.add(name, "incdec", A(i), A(end), f"({lv} {sign} 1)", orig=f"{x}{lv}")
            return
        # Postfix: lvalue ++ (find the lvalue's start backwards)
        if i == 0 or not operand_end(toks[i - 1]):
            return
        k = i - 1
        start = None
        while k >= 0:
            if lvalue(toks, k, i - 1):
                start = k
            if toks[k].text in (";", "{", "}", "(", ",", "=", "?", ":", "return", "[") and \
                    not (toks[k].text == "[" and start is None):
                break
            k -= 1
        if start is None:
            return
        st = stmt_tokens.get(start)
        if st is not None and st.b == i + 1:
            return	# x++; is a statement
        lv = self.src[toks[start].start:toks[i - 1].end]
        self.add(name, "incdec", A(start), A(i), lv, orig=f"{lv}{x}")

    def returns(self, name, toks, st, A):
        a, b = st.a, st.b
        expr = [t.text for t in toks[a + 1:b]]
        if not expr:
            return
        if expr in (["true"], ["false"]):
            self.add(name, "retbool", A(a), A(b), "return " + ("false" if expr == ["true"] else "true") + ";")
            return
        err = (len(expr) == 2 and expr[0] == "-" and (re.fullmatch(r"E[A-Z0-9]+", expr[1]) or
                                                      re.fullmatch(r"\d+", expr[1])))
        fail = expr[0] == "sr__fail" and len(expr) > 1 and expr[1] == "("
        if err or fail:
            self.add(name, "ret0", A(a), A(b), "return 0;")

    def expr_stmt(self, name, toks, st, A):
        a, b = st.a, st.b	# b is the ';'
        t = [x.text for x in toks[a:b]]
        if not t:
            return
        # A call statement: f(...);
        if toks[a].kind == "id" and len(t) > 1 and t[1] == "(" and match_close(toks, a + 1) == b - 1:
            if RELEASE.search(t[0]):
                self.add(name, "call_del", A(a), A(b), "(void)0;")
            return
        # Updates: x++; ++x; x += e; x -= e;
        if (t[0] in ("++", "--") and lvalue(toks, a + 1, b - 1)) or \
                (t[-1] in ("++", "--") and lvalue(toks, a, b - 2)):
            self.add(name, "incdec", A(a), A(b), "(void)0;")
            return
        k = a
        while k < b:
            x = toks[k].text
            if x in ("=", "+=", "-=", "|=", "&="):
                if not lvalue(toks, a, k - 1):
                    return
                rhs = " ".join(t[k - a + 1:])
                if x in ("+=", "-="):
                    self.add(name, "incdec", A(a), A(b), "(void)0;")
                elif x in ("|=", "&="):
                    self.add(name, "flag_del", A(a), A(b), "(void)0;")
                elif rhs in RESET_VALUES:
                    self.add(name, "reset_del", A(a), A(b), "(void)0;")
                return
            if x == "[":
                k = match_close(toks, k)
            elif x in ("(", "{"):
                return
            k += 1


def mutants(path, src):
    return CFile(path, src).run()
