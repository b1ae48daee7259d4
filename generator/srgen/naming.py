# SPDX-License-Identifier: MIT
"""C naming and the expressions that store argument values into SQE fields."""
from .errors import SpecError

# C11 and C++ keywords: an argument named like one would not compile in one
# of the languages the public headers support.
_KEYWORDS = set("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic
_Imaginary _Noreturn _Static_assert _Thread_local alignas alignof and asm bool catch class
compl concept consteval constexpr constinit const_cast co_await co_return co_yield decltype
delete dynamic_cast explicit export false friend mutable namespace new noexcept not nullptr
operator or private protected public reinterpret_cast requires static_assert static_cast
template this thread_local throw true try typeid typename using virtual wchar_t xor
""".split())


def check_ident(name, loc):
    if name in _KEYWORDS:
        raise SpecError(loc, f"'{name}' is a C or C++ keyword and cannot name an op or argument")


# sr_<word> names the runtime and the front macros already use.
_RESERVED_OPS = {"submit", "submit_cb", "wait", "poll", "cancel", "set_sqe_flags", "last_error",
                 "kernel_parse", "kver_code", "caps_get", "op_unavailable"}
_RESERVED_PREFIXES = ("ring_", "buf_", "bufgroup_", "prep_", "raw_")


def check_op_name(name, loc):
    if name in _RESERVED_OPS or name.startswith(_RESERVED_PREFIXES):
        raise SpecError(loc, f"op name '{name}' would clash with sr_{name} of the runtime or the front macros")


def check_arg_name(name, loc):
    """Generated code names its own locals sr_*; `sqe` is the prep functions' first parameter."""
    if name.startswith("sr_") or name == "sqe":
        raise SpecError(loc, f"argument name '{name}' is reserved for the generated code (sqe, sr_*)")


def field_type(field):
    """Unsigned type of a field's width: what sr__sqe_putN stores."""
    return f"__u{field.bits}"


def store_expr(arg, value):
    """Expression for what `value` (the argument, in the raw C type) stores into its field."""
    f = arg.field
    if arg.ctype.is_ptr:
        return f"(__u64)(uintptr_t)({value})"
    if arg.encode == "file_index":
        return f"sr__file_index({value})"
    if arg.encode == "plus1":
        return f"(__u32)({value}) + 1"
    return f"({field_type(f)})({value})"


def put(field, expr, target="sqe"):
    """Statement storing expr into field of the SQE image at target."""
    return f"sr__sqe_put{field.bits}({target}, {field.macro}, {expr});"


def put_or(field, expr, target="sqe"):
    return f"sr__sqe_or{field.bits}({target}, {field.macro}, {expr});"


def c_string(text):
    """A C string literal for text (docs, messages)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def c_ident(text):
    """Upper-case C identifier fragment."""
    return "".join(ch if ch.isalnum() else "_" for ch in text).upper()
