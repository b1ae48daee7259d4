# SPDX-License-Identifier: MIT
"""Every C spelling of the generated code, in one place.

The model holds facts (an op's name, an argument's C type as the spec
writes it); this module turns them into what the templates print:
SR_OP_READ, struct sr_read_op, sr_prep_read, SR_SQE_ADDR, the statement
storing an argument into its SQE field, a builder field's declaration, the
C form of a `set:` value.

Templates see the model and the plan through views (present()): a view
carries the spellings of one model object as attributes and passes every
other attribute through to the object, so `o.doc` is the model's fact and
`o.t_op` its C type name; model objects reached through a view come back
as views.
"""
import dataclasses
import re

from .cexpr import tokens

# --- names the spec may not take -----------------------------------------------------

# sr_<word> names the runtime and the front macros already use.
_RESERVED_OPS = {"submit", "submit_cb", "wait", "poll", "cancel", "set_sqe_flags", "last_error",
                 "kernel_parse", "kver_code", "caps_get", "op_unavailable"}
_RESERVED_PREFIXES = ("ring_", "buf_", "bufgroup_", "prep_", "raw_")


def op_name_clash(name):
    """Why sr_NAME cannot be an op's name, or None."""
    if name in _RESERVED_OPS or name.startswith(_RESERVED_PREFIXES):
        return f"op name '{name}' would clash with sr_{name} of the runtime or the front macros"
    return None


def arg_name_clash(name):
    """Generated code names its own locals sr_*; `sqe` is the prep functions' first parameter."""
    if name.startswith("sr_") or name == "sqe":
        return f"argument name '{name}' is reserved for the generated code (sqe, sr_*)"
    return None


# Macros generated/src/op_table.c defines for the syscall expressions.
OP_TABLE_MACROS = frozenset({"SR_POSIX"})
# What op_table.c itself uses from its headers (headers.fallback), and where it is.
OP_TABLE_NEEDS = {"errno": "errno.h", "offsetof": "stddef.h"}


# --- spellings ---------------------------------------------------------------------

def api_name(op):
    """sr_read: the constructor, and the prefix of the op's functions and types."""
    return f"sr_{op.name}"


def setter_name(op, a):
    return f"sr_{op.name}_set_{a.name}"


def op_enum(op):
    """SR_OP_READ (op: a model.Op, or an op's name)."""
    return "SR_OP_" + (op if isinstance(op, str) else op.name).upper()


def prep_name(op):
    return f"sr_prep_{op.name}"


def form_prep_name(form):
    return "sr_prep_" + (form.name or form.helper.short)


def field_macro(f):
    """The SQE field's byte offset."""
    return f"SR_SQE_{f.name.upper()}"


def field_type(f):
    """Unsigned type of a field's width: what sr__sqe_putN stores."""
    return f"__u{f.bits}"


def const_macro(c):
    """A constant or flag of ring.yaml (SR_IORING_FSYNC_DATASYNC)."""
    return "SR_" + c.name


def value(v):
    """A set: or checked: value: a number, or a constant's macro."""
    return str(v) if isinstance(v, int) else const_macro(v)


def const_c(ctype):
    """The pointer type with const added (for data the kernel only reads)."""
    return ctype.c if ctype.is_const_ptr or not ctype.is_ptr else "const " + ctype.c


def pointee_c(ctype):
    """What the pointer points to, for sizeof() (char for void and char)."""
    return "char" if ctype.points_to_bytes else ctype.base


def decl(ctype, name):
    """`int fd`, `void *buf`: a parameter or variable of the spec's type."""
    return f"{ctype.c}{'' if ctype.is_ptr else ' '}{name}"


def store_expr(arg, val):
    """Expression for what `val` (the argument, in the raw C type) stores into its field."""
    f = arg.field
    if arg.ctype.is_ptr:
        return f"(__u64)(uintptr_t)({val})"
    if arg.encode == "file_index":
        return f"sr__file_index({val})"
    if arg.encode == "plus1":
        return f"(__u32)({val}) + 1"
    return f"({field_type(f)})({val})"


def put(f, expr, target="sqe"):
    """Statement storing expr into field f of the SQE image at target."""
    return f"sr__sqe_put{f.bits}({target}, {field_macro(f)}, {expr});"


def put_or(f, expr, target="sqe"):
    return f"sr__sqe_or{f.bits}({target}, {field_macro(f)}, {expr});"


def cast_put(f, expr, is_or=False, target="sqe"):
    """Store (or OR in) expr, cast to the field's width."""
    return (put_or if is_or else put)(f, f"({field_type(f)})({expr})", target)


def kernel_code(v):
    """A Version as the runtime's packed kernel number."""
    return "0x%06x" % v.code


def mask(names):
    """IORING_SETUP_* (or other flag) names as one C mask: SR_A | SR_B, or 0."""
    return " | ".join("SR_" + n for n in names) or "0"


def c_bool(b):
    return "true" if b else "false"


def c_string_or_null(text):
    return c_string(text) if text is not None else "NULL"


def dir_macro(mem):
    """Which way the data of an owned buffer goes."""
    return "SR__OUT" if mem.dir == "out" else "SR__IN"


def checked_decl(op, a, param=False):
    """a as the checked API takes it (param) or its builder keeps it."""
    kind = op.checked_kind(a)
    if kind == "buffer":
        return f"{'const ' if param and a.mem.dir == 'in' else ''}struct sr_buf *{a.name}"
    spelled = {
        "bufvec": f"struct sr_buf *const *{a.name}",
        "copy": f"{const_c(a.ctype)}{a.name}",
        "msghdr": f"const struct sr_msg *{a.name}",
        "provided": f"struct sr_bufgroup *{a.name}",
        "target": f"struct sr_handle {a.name}",
    }
    return spelled.get(kind) or decl(a.ctype, a.name)


def result_decl(a):
    """A `result` member: `struct statx statxbuf`, `int fds[2]` for ctype int[2]."""
    m = re.fullmatch(r"(.*?)\s*(\[\d+\])", a.mem.ctype)
    return f"{m.group(1)} {a.name}{m.group(2)}" if m else f"{a.mem.ctype} {a.name}"


def c_string(text):
    """A C string literal for text (docs, messages)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def c_enum(prefix, word):
    """SR_SHAPE_SINGLE from ("SR_SHAPE_", "single"); NONE for None."""
    return prefix + (word or "none").upper()


# --- views ---------------------------------------------------------------------------

class View:
    """A model (or plan) object with its C spellings."""

    __slots__ = ("m", "_present")

    def __init__(self, m, present):
        self.m = m
        self._present = present

    def __getattr__(self, name):
        return self._present.wrap(getattr(self.m, name))

    def __str__(self):
        return str(self.m)


class OpC(View):
    __slots__ = ()

    @property
    def enum(self):
        return op_enum(self.m)

    @property
    def t_op(self):
        return f"struct sr_{self.m.name}_op"

    @property
    def t_sub(self):
        return f"struct sr_{self.m.name}_submitted"

    @property
    def t_done(self):
        return f"struct sr_{self.m.name}_completed"

    @property
    def prep_name(self):
        return prep_name(self.m)

    @property
    def api_name(self):
        return api_name(self.m)

    @property
    def enum_suffix(self):
        return self.m.name.upper()

    @property
    def t_store(self):
        """Op storage: copies, results, iovec arrays, msghdrs."""
        return f"struct sr__{self.m.name}_store"

    @property
    def finish_fn(self):
        """Completion-time work (op_table.c), or NULL."""
        return f"sr__{self.m.name}_finish" if self.m.has_finish else "NULL"

    @property
    def sys_fn(self):
        """The op as a system call (op_table.c)."""
        return f"sr__sys_{self.m.name}"

    @property
    def targets_table(self):
        """The ops this one acts on (op_table.c), or NULL."""
        return f"sr__targets_{self.m.name}" if self.m.target_ops else "NULL"

    @property
    def target_enums(self):
        return [op_enum(t) for t in self.m.target_ops]

    @property
    def c_shape(self):
        return c_enum("SR_SHAPE_", self.m.shape)

    @property
    def c_fd_kind(self):
        return c_enum("SR_FD_", self.m.fd_kind)

    @property
    def c_result(self):
        return c_enum("SR_RESULT_", self.m.result)

    @property
    def setup_any(self):
        return mask(self.m.requires_setup)

    @property
    def ctor_params(self):
        """The checked constructor's parameter list."""
        o = self.m
        return ", ".join(checked_decl(o, a, param=True) for a in o.ctor_args) or "void"

    @property
    def ctor_macro(self):
        """C only: the constructor as a macro making a const out-buffer a hard
        error, as (parameters, call), or None when the kernel writes no buffer."""
        o = self.m
        outs = o.out_buffers
        if not outs:
            return None
        names = [a.name for a in o.ctor_args]
        call = [f"SR__OUT_BUF({a.name})" if a in outs else f"({a.name})" for a in o.ctor_args]
        return ", ".join(names), ", ".join(call)

    @property
    def option_stores(self):
        """Statements writing the options at submit: each one, then the bits OR-sets add to its field."""
        o, out = self.m, []
        for a in o.options:
            out.append(put(a.field, self.option_store(a)))
            out += [cast_put(s.field, value(s.value), True) for s in o.or_sets(a.field)]
        return out

    @property
    def commit_flags(self):
        """SR__SF_* for sr__commit: the op's own, then the callback's."""
        cb = "SR__SF_CB | SR__SF_DFIN" if self.deliver_finishes else "SR__SF_CB"
        return " | ".join(self.slot_flags + ["(deliver ? %s : 0)" % cb])

    @property
    def return_buffers_fn(self):
        """Gives back the op's owned buffers at its final completion (api.h), or None."""
        return f"sr__{self.m.name}_return_buffers" if self.m.buffers else None

    @property
    def take_head(self):
        """Waiting may take the op's CQE at the CQ head and finish it inline: a
        single CQE whose only completion-time work is giving owned buffers back."""
        o = self.m
        return (o.shape == "single" and bool(o.buffers) and not
                (o.bufvecs or o.msghdrs or o.results or o.direct))

    @property
    def deliver_finishes(self):
        """A callback's deliver gives the op's buffers back itself, when it
        runs (SR__SF_DFIN): the same ops as take_head, whose only
        completion-time work that is; the runtime then calls no finish."""
        return self.take_head

    @property
    def c_plain(self):
        """The slot needs no completion-time work (sr__wait_done frees it itself)."""
        return c_bool(not self.slot_flags)

    @property
    def builder_fields(self):
        """Fields of struct sr_NAME_op: what the constructor and setters record."""
        o = self.m
        ctor = o.ctor_args
        out = []
        for a in o.builder_args:
            kind = o.checked_kind(a)
            if a in ctor:
                init = f"(struct sr_buf *){a.name}" if kind == "buffer" else a.name
            elif kind == "target":
                init = "(struct sr_handle){ 0 }"
            else:
                init = "0"
            out.append(BuilderField(a.name, checked_decl(o, a), init))
        return out

    def prep_value(self, a):
        """What submit passes to sr_prep_NAME for argument a."""
        o, a = self.m, _model(a)
        t = a.ctype.c
        if a.checked_value is not None:
            return f"({t})({value(a.checked_value)})"
        if a.checked_or is not None:
            return f"({t})(op->{a.name} | {value(a.checked_or)})"
        if not o.checked:
            return f"op->{a.name}"
        if a.derived_from is not None:
            src = a.derived_from
            if a.derived_as == "len":
                unit = f" / sizeof({src.mem.unit})" if src.mem.unit else ""
                return f"({t})(sr__buf_io_len(op->{src.name}, {dir_macro(src.mem)}){unit})"
            if src.mem.kind == "bufvec":
                return f"({t})op->{src.name}[0]->_reg_index"
            if src.mem.kind == "msghdr":
                return f"({t})op->{src.name}->iov[0]->_reg_index"
            return f"({t})op->{src.name}->_reg_index"
        kind = a.mem.kind if a.mem else None
        return {
            "buffer": f"({t})sr__buf_io_ptr(op->{a.name})",
            "bufvec": f"({t})st->{a.name}_iov",
            "copy": f"({t})cp_{a.name}",
            "result": f"({t})&st->{a.name}",
            "msghdr": f"({t})&st->{a.name}.hdr",
            "provided": f"({t})sr__group_id(op->{a.name})",
            "target": f"({t})ud_{a.name}",
        }.get(kind, f"op->{a.name}")

    def option_store(self, a):
        """The value an option (a field no prep argument covers) stores at submit."""
        o, a = self.m, _model(a)
        if a.checked_value is not None:
            return f"({field_type(a.field)})({value(a.checked_value)})"
        if o.checked_kind(a) == "provided":
            return f"({field_type(a.field)})sr__group_id(op->{a.name})"
        if o.checked_kind(a) == "copy":
            return f"(__u64)(uintptr_t)cp_{a.name}"
        return store_expr(a, f"op->{a.name}")

    @property
    def modifier_setters(self):
        """(name, [params], [args]) of each modifier's setter: sr_OP_set_NAME(op, params...)."""
        o = self.m
        return [ModSetter(f"sr_{o.name}_set_{mu.entry.setter}", mu.entry,
                          [checked_decl(o, a, param=True) for a in mu.args], [a.name for a in mu.args])
                for mu in o.modifiers]

    @property
    def slot_flags(self):
        """SR__SF_* the submit sets on the op's slot."""
        o = self.m
        out = []
        if o.has_finish:
            out.append("SR__SF_FINISH")
        if o.shape == "multishot":
            out.append("SR__SF_MULTI")
        if o.shape == "notif":
            out.append("SR__SF_NOTIF")
        return out


@dataclasses.dataclass
class ModSetter:
    name: str
    entry: object
    params: list
    names: list


@dataclasses.dataclass
class BuilderField:
    name: str
    decl: str
    init: str


class ArgC(View):
    __slots__ = ()

    @property
    def store_expr(self):
        """C expression for the value stored into the SQE (raw API)."""
        return store_expr(self.m, self.m.name)

    @property
    def store(self):
        """The statement storing the argument into its field (prep functions)."""
        return put(self.m.field, store_expr(self.m, self.m.name))

    @property
    def c_decl(self):
        """`int fd`: the argument with the spec's C type."""
        return decl(self.m.ctype, self.m.name)

    @property
    def c_dir(self):
        return dir_macro(self.m.mem)

    @property
    def c_out(self):
        """The kernel writes the memory (true/false)."""
        return c_bool(self.m.mem.dir == "out")

    @property
    def c_fixed(self):
        """A registered buffer (true/false)."""
        return c_bool(self.m.mem.fixed)

    @property
    def returned_len(self):
        """Bytes a completion's res says were transferred (res counts units)."""
        unit = self.m.mem.unit
        return "(long)res" + (f" * (long)sizeof({unit})" if unit else "")

    @property
    def sys_decode(self):
        """This argument read back from an SQE (for the syscall fallback)."""
        a = self.m
        raw = f"sr__sqe_get{a.field.bits}(sqe, {field_macro(a.field)})"
        if a.ctype.is_ptr:
            return f"({a.ctype.c})(uintptr_t){raw}"
        return f"({a.ctype.c}){raw}"

    @property
    def copy_len(self):
        """Bytes of a `copy` argument at submit (a string's were measured into sz_NAME)."""
        a = self.m
        return f"sz_{a.name}" if a.mem.size.kind == "string" else self.copy_size("op->")

    @property
    def result_decl(self):
        return result_decl(self.m)

    def copy_size(self, prefix):
        """Bytes of a `copy` argument, reading the builder through prefix."""
        a = self.m
        k = a.mem.size
        if k.kind == "sizeof":
            return f"sizeof(*{prefix}{a.name})"
        if k.kind == "array":
            return f"(size_t){prefix}{k.arg.name} * sizeof(*{prefix}{a.name})"
        return f"(size_t){prefix}{k.arg.name}"

    @property
    def checked_value(self):
        v = self.m.checked_value
        return None if v is None else value(v)

    @property
    def checked_forbid(self):
        v = self.m.checked_forbid
        return None if v is None else value(v)


class ForbidC(View):
    __slots__ = ()

    @property
    def c_value(self):
        return value(self.m.value)


class CTypeC(View):
    __slots__ = ()

    @property
    def const_c(self):
        return const_c(self.m)

    @property
    def pointee_c(self):
        return pointee_c(self.m)


class FieldC(View):
    __slots__ = ()

    @property
    def macro(self):
        return field_macro(self.m)

    @property
    def clear(self):
        return put(self.m, "0")


class ConstC(View):
    """A constant, a flag bit or a register operation."""
    __slots__ = ()

    @property
    def macro(self):
        return const_macro(self.m)

    @property
    def literal(self):
        """A constant's value: negative in parentheses, wide ones in hex."""
        v = self.m.value
        return f"({v})" if v < 0 else (f"0x{v:x}U" if v >= 0x10000 else str(v))


class OpcodeC(View):
    __slots__ = ()

    @property
    def macro(self):
        return "SR_" + self.m.uapi


class FormC(View):
    __slots__ = ()

    @property
    def prep_name(self):
        return form_prep_name(self.m)


class HelperEntryC(View):
    """A generic prep or a modifier (ops.yaml helpers:)."""
    __slots__ = ()

    @property
    def prep_name(self):
        return f"sr_prep_{self.m.name}"

    @property
    def params(self):
        """The prep's parameters, in liburing's order: a generic helper's opcode comes before the SQE."""
        h = self.m
        out = [decl(a.ctype, a.name) for a in h.args]
        return ", ".join(out[:1] + ["struct io_uring_sqe *sqe"] + out[1:]) if h.kind == "generic" else \
            ", ".join(["struct io_uring_sqe *sqe"] + out)

    def call(self, fn, sqe, argv):
        """fn(...) with the SQE where this helper takes it."""
        args = list(argv)
        args = args[:1] + [sqe] + args[1:] if self.m.kind == "generic" else [sqe] + args
        return f"{fn}({', '.join(args)})"

    @property
    def setter_ops(self):
        return self.m.on


class SetValC(View):
    __slots__ = ()

    @property
    def value(self):
        """The value as C."""
        return value(self.m.value)

    def store(self, target="sqe"):
        """Set the field (or OR the bits in)."""
        return cast_put(self.m.field, value(self.m.value), self.m.is_or, target)

    @property
    def unor(self):
        """Clear the bits this OR-set put in (an SQE conversion)."""
        f, v = self.m.field, value(self.m.value)
        t, get = field_type(f), f"sr__sqe_get{f.bits}(sqe, {field_macro(f)})"
        return f"sr__sqe_put{f.bits}(sqe, {field_macro(f)}, ({t})({get} & ~({t})({v})));"


class RouteC(View):
    """A fallback route as a struct sr_fb_route initializer's parts."""
    __slots__ = ()

    @property
    def xforms(self):
        """The SQE conversions, in order (generated into op_table.c)."""
        return [xform_name(a, b) for a, b, _ in self.m.edges]

    @property
    def c_engine(self):
        return c_enum("SR_FB_", self.m.engine)

    @property
    def c_how(self):
        return c_enum("SR_FB_", self.m.how)

    @property
    def c_wait(self):
        return c_enum("SR_FB_WAIT_", self.m.sys.wait if self.m.sys else None)

    @property
    def c_emulate(self):
        return c_enum("SR_EMU_", self.m.emulate)

    @property
    def c_more_while(self):
        return c_enum("SR_FB_MORE_", self.m.more_while)

    @property
    def c_setup(self):
        return mask(self.m.setup)

    @property
    def sys_fn(self):
        return f"sr__sys_{self.m.exec_op.name}" if self.m.engine == "syscall" else "NULL"


class EdgeC(View):
    __slots__ = ()

    @property
    def name(self):
        return xform_name(self.m.src, self.m.dst)


def xform_name(a, b):
    """The function turning op a's SQE into op b's."""
    return f"sr__xform_{a.name}_to_{b.name}"


class SpecC(View):
    __slots__ = ()

    @property
    def pointer_tags(self):
        """struct tags the argument types point at, declared by prep.h (sorted)."""
        tags = set()
        for t in self.m.types:
            toks = tokens(t.c)[0] if t.is_ptr else []
            tags.update(f"{a.text} {b.text}" for a, b in zip(toks, toks[1:])
                        if a.text in ("struct", "union", "enum") and b.kind == "ident")
        return sorted(tags)


def _model(x):
    return x.m if isinstance(x, View) else x


class Present:
    """Wraps model and plan objects in their views, one view per object."""

    # By class name: model.Op, plan.Route, ...
    VIEWS = {"Op": OpC, "Arg": ArgC, "CType": CTypeC, "SqeField": FieldC, "Constant": ConstC,
             "FlagBit": ConstC, "RegisterOp": ConstC, "EdgePlan": EdgeC, "Spec": SpecC, "Opcode": OpcodeC, "Form": FormC, "SetVal": SetValC, "Route": RouteC,
             "HelperEntry": HelperEntryC, "Forbid": ForbidC}
    # Values without model objects inside: handed over as they are.
    PLAIN = ("Version", "Helper", "Loc")

    def __init__(self):
        self.cache = {}

    def wrap(self, x):
        if isinstance(x, (str, int, bool, float, type(None), View)):
            return x
        if isinstance(x, list):
            return [self.wrap(v) for v in x]
        if isinstance(x, tuple):
            return tuple(self.wrap(v) for v in x)
        if isinstance(x, dict):
            return {k: self.wrap(v) for k, v in x.items()}
        if callable(x) and not dataclasses.is_dataclass(x):
            return lambda *a, **k: self.wrap(x(*[_model(v) for v in a], **k))
        name = type(x).__name__
        if not dataclasses.is_dataclass(x) or name in self.PLAIN:
            return x
        v = self.cache.get(id(x))
        if v is None:
            v = self.cache[id(x)] = self.VIEWS.get(name, View)(x, self)
        return v


def present(*objs):
    """Views of the given model and plan objects, sharing one cache."""
    p = Present()
    return [p.wrap(o) for o in objs]
