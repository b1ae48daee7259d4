# SPDX-License-Identifier: MIT
"""The C text a spec carries (system-call expressions, result types and
initializers, argument types), checked before any C compiler sees it.

Every identifier must be something the generated file that prints the
text can see: the op's arguments, the spec's constants (SR_<NAME>), or a
name one of the spec's headers declares (ring.yaml `headers:`).  A
mistake is reported at the identifier itself, FILE:LINE:COL.
"""
import difflib
import re
from dataclasses import dataclass

from .errors import SpecError

C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
_Imaginary _Noreturn _Static_assert _Thread_local
""".split())
# Names that cannot be an argument or op: C11 and C++ keywords (the public
# headers compile as both).
KEYWORDS = C_KEYWORDS | frozenset("""
alignas alignof and asm bool catch class compl concept consteval constexpr constinit
const_cast co_await co_return co_yield decltype delete dynamic_cast explicit export false
friend mutable namespace new noexcept not nullptr operator or private protected public
reinterpret_cast requires static_assert static_cast template this thread_local throw true
try typeid typename using virtual wchar_t xor
""".split())

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>\.?[0-9](?:[0-9A-Za-z_.]|[eEpP][+-])*)
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<char>'(?:\\.|[^'\\\n])+')
  | (?P<arrow>->)
  | (?P<punct>[-+*/%&|^~!<>=?:;,.()\[\]{}\#])
""", re.X)

_TAG_WORDS = ("struct", "union", "enum")


@dataclass
class Token:
    kind: str     # ident | number | string | char | arrow | punct
    text: str
    offset: int   # in the expression


def tokens(text):
    """The tokens of a C expression or type; None and the offset of the first
    character that starts none (an unterminated string, a stray `@`)."""
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m:
            return None, i
        if m.lastgroup != "space":
            out.append(Token(m.lastgroup, m.group(), i))
        i = m.end()
    return out, None


@dataclass
class Names:
    """What C text in one place may name."""
    idents: frozenset    # plain identifiers: functions, macros, typedefs, variables
    tags: frozenset      # struct/union/enum tags with a complete declaration ("struct iovec")
    any_tag: bool        # any tag will do (pointers to incomplete types, forward-declared)
    where: str           # for messages: where the names come from


def check(node, text, names, what, hint=None):
    """Raise SpecError at the first identifier of text that names allows no
    meaning for.  node is the scalar's loader node (for positions); hint(name)
    says where such a name could come from."""
    toks, bad = tokens(text)
    if toks is None:
        raise SpecError(node.loc_at(bad), f"{what}: '{text[bad]}' cannot start a C token")
    depth = 0
    for i, t in enumerate(toks):
        if t.kind == "punct" and t.text in "([{":
            depth += 1
        elif t.kind == "punct" and t.text in ")]}":
            depth -= 1
            if depth < 0:
                raise SpecError(node.loc_at(t.offset), f"{what}: unbalanced '{t.text}'")
        if t.kind != "ident":
            continue
        prev = toks[i - 1] if i else None
        if prev and (prev.kind == "arrow" or prev.text == "."):
            continue        # a member: its struct's header declares it
        if prev and prev.text in _TAG_WORDS:
            tag = f"{prev.text} {t.text}"
            if names.any_tag or tag in names.tags:
                continue
            raise SpecError(node.loc_at(t.offset, t.text), f"{what}: '{tag}' is not declared by {names.where}",
                            _suggest(tag, names.tags, hint(tag) if hint else None))
        if t.text in C_KEYWORDS or t.text in names.idents:
            continue
        raise SpecError(node.loc_at(t.offset, t.text), f"{what}: unknown name '{t.text}'",
                        _suggest(t.text, names.idents, hint(t.text) if hint else f"known: {names.where}"))
    if depth:
        raise SpecError(node.loc_at(len(text) - 1 if text else 0), f"{what}: unbalanced brackets")


def _suggest(name, known, hint):
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    if close:
        return f"did you mean '{close[0]}'?" + (f" ({hint})" if hint else "")
    return hint
