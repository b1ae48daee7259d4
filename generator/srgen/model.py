# SPDX-License-Identifier: MIT
"""The typed model: spec nodes -> dataclasses, with every semantic check.

Every C name the templates print is computed here (see naming.py); the
templates only loop and print.  Each object keeps the Loc of the node it
came from so later checks can point at the right line.
"""
import dataclasses
import re
from dataclasses import dataclass, field
from typing import List, Optional

from . import naming
from .errors import Loc, SpecError
from .schema import HELPER, VERSION

DEBIAN_LIBURING = (2, 3)


# --- small value types -------------------------------------------------------

@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text):
        m = VERSION.match(text)
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))

    def __str__(self):
        return f"{self.major}.{self.minor}" + (f".{self.patch}" if self.patch else "")

    @property
    def code(self):
        """KERNEL_VERSION-style packed number: major<<16 | minor<<8 | patch."""
        return (self.major << 16) | (self.minor << 8) | min(self.patch, 255)


@dataclass
class Helper:
    name: Optional[str]          # io_uring_prep_read, or None
    since: Optional[str]         # liburing release "0.4", "unreleased", None
    loc: Loc

    @property
    def short(self):
        return self.name[len("io_uring_prep_"):] if self.name else None

    @property
    def since_tuple(self):
        if self.since is None or self.since == "unreleased":
            return None
        a, b = self.since.split(".")
        return (int(a), int(b))

    @property
    def in_debian(self):
        """Present in Debian 12's liburing 2.3 (the installed one)."""
        t = self.since_tuple
        return t is not None and t <= DEBIAN_LIBURING

    def __str__(self):
        return f"{self.name}@{self.since}" if self.name else "none"


@dataclass
class SqeField:
    name: str
    offset: int
    size: int
    signed: bool
    liburing: Version   # first liburing release whose struct io_uring_sqe has it
    loc: Loc

    @property
    def macro(self):
        return f"SR_SQE_{self.name.upper()}"

    @property
    def bits(self):
        return self.size * 8

    @property
    def span(self):
        return range(self.offset, self.offset + self.size)


@dataclass
class CType:
    c: str
    kind: str            # int | ptr
    size: int
    signed: bool
    pointee: Optional[str]
    loc: Loc

    @property
    def is_ptr(self):
        return self.kind == "ptr"

    @property
    def is_const_ptr(self):
        return self.is_ptr and self.c.startswith("const ")

    @property
    def const_c(self):
        """The pointer type with const added (for data the kernel only reads)."""
        return self.c if self.is_const_ptr or not self.is_ptr else "const " + self.c

    @property
    def pointee_c(self):
        """What the pointer points to, for sizeof()."""
        base = self.c.replace("const ", "").rstrip(" *")
        return base if base != "void" and base != "char" else "char"


@dataclass
class Constant:
    name: str
    value: int
    kernel: Version
    loc: Loc

    @property
    def macro(self):
        return "SR_" + self.name


@dataclass
class FlagBit:
    name: str
    bit: int
    kernel: Version
    doc: str
    user: bool
    kernel_note: Optional[str]
    requires: List[str] = field(default_factory=list)
    requires_any: List[str] = field(default_factory=list)
    conflicts: List[str] = field(default_factory=list)
    loc: Loc = None

    @property
    def macro(self):
        return "SR_" + self.name

    @property
    def short(self):
        """IORING_SETUP_SQPOLL -> sqpoll (for reports)."""
        return self.name.split("_", 2)[-1].lower() if self.name.startswith("IORING_") else self.name.lower()


@dataclass
class RegisterOp:
    name: str
    code: int
    kernel: Version
    kernel_note: Optional[str]
    doc: Optional[str]
    loc: Loc


@dataclass
class Size:
    """How many bytes a `copy` argument has: string, sizeof, an argument, or an array."""
    kind: str                 # string | sizeof | arg | array
    arg: Optional["Arg"] = None


@dataclass
class Mem:
    kind: str
    dir: Optional[str]
    lifetime: Optional[str]
    len: Optional["Arg"] = None
    count: Optional["Arg"] = None
    fixed: Optional["Arg"] = None
    unit: Optional[str] = None
    size: Optional[Size] = None
    ctype: Optional[str] = None
    init: Optional[str] = None
    of: List[str] = field(default_factory=list)
    note: Optional[str] = None

    @property
    def lifetime_class(self):
        """The lifetime class named in docs and the op table."""
        if self.kind == "provided":
            return "kernel_selected"
        if self.kind == "target":
            return "none"
        return self.lifetime or "completion"


@dataclass
class Arg:
    name: str
    ctype: CType
    field: SqeField
    fd: bool
    optional: bool
    truncate: bool
    encode: Optional[str]
    doc: Optional[str]
    mem: Optional[Mem]
    checked_value: Optional[str]     # C expression the checked API writes instead
    checked_why: Optional[str]
    loc: Loc
    checked_forbid: Optional[str] = None  # bits the checked API refuses in this argument
    # Set when another argument derives this one in the checked API.
    derived_from: Optional["Arg"] = None
    derived_as: Optional[str] = None  # len | count | fixed

    @property
    def store_expr(self):
        """C expression for the value stored into the SQE (raw API)."""
        return naming.store_expr(self, self.name)

    @property
    def sys_decl(self):
        return f"{self.ctype.c}{'' if self.ctype.is_ptr else ' '}{self.name}"

    @property
    def sys_decode(self):
        """This argument read back from an SQE (for the syscall fallback)."""
        f = self.field
        raw = f"sr__sqe_get{f.bits}(sqe, {f.macro})"
        if self.ctype.is_ptr:
            return f"({self.ctype.c})(uintptr_t){raw}"
        return f"({self.ctype.c}){raw}"

    def copy_size(self, prefix):
        """Bytes of a `copy` argument, reading the builder through prefix."""
        k = self.mem.size
        if k.kind == "sizeof":
            return f"sizeof(*{prefix}{self.name})"
        if k.kind == "array":
            return f"(size_t){prefix}{k.arg.name} * sizeof(*{prefix}{self.name})"
        return f"(size_t){prefix}{k.arg.name}"


_HOW = {"same": "", "rearm": " (re-armed)", "notif": " (two-phase completion kept)"}
# Which results keep a re-armed stream going, by result kind (status needs more_while).
MORE_WHILE = {"bytes": "positive", "mask": "positive", "count": "positive",
              "fd": "nonneg", "slot": "nonneg", "index": "nonneg", "value": "nonneg"}


@dataclass
class Route:
    engine: str               # kernel | syscall | emulate | none
    exec_op: "Op"             # the op whose SQE layout runs
    how: str                  # same | rearm | notif
    edges: list               # [(from_op, to_op, repeat_arg)]: SQE conversions, in order
    sys: Optional["Fallback"]   # syscall routes
    emulate: Optional[str]    # emulate routes: the kind
    text: str                 # for people
    setup: list = field(default_factory=list)   # IORING_SETUP_* the ring must have
    repeat: Optional["Arg"] = None    # rearm: the argument limiting repeats
    more_while: Optional[str] = None  # rearm: positive | nonneg | etime

    @property
    def xforms(self):
        return [f"sr__xform_{a.name}_to_{b.name}" for a, b, _ in self.edges]


@dataclass
class _Field:
    name: str
    decl: str
    init: str


@dataclass
class SetVal:
    field: SqeField
    value: str          # C expression
    is_or: bool
    loc: Loc


@dataclass
class Form:
    """An extra liburing helper signature for an op (raw prep + SQE test only)."""
    helper: Helper
    args: List[Arg]
    sets: List[SetVal]
    loc: Loc
    name: Optional[str] = None   # defaults to the helper's name without io_uring_prep_

    @property
    def prep_name(self):
        return "sr_prep_" + (self.name or self.helper.short)


@dataclass
class Fallback:
    kind: str                       # op | syscall | emulate | none
    target: Optional[str]           # op: the alternate op; emulate: the kind
    how: Optional[str]
    text: Optional[str]             # syscall: the C expression; none: the reason
    loc: Loc
    wait: Optional[str] = None      # syscall on a pollable fd: wait for in/out first
    target_op: Optional["Op"] = None
    setup: Optional[str] = None     # op: only on rings set up with this IORING_SETUP_* flag
    repeat: Optional[str] = None    # rearm: the argument that limits the repeats (cleared in the alternate)
    more_while: Optional[str] = None  # rearm: which results keep the stream going
    name: Optional[str] = None      # syscall: what to call it in docs, when not the call's name
    queued_at_submit: bool = False  # syscall: io_uring queues the wait at submission, so must we
    kernel: Optional["Version"] = None  # syscall: the kernel that brought the system call
    probe: Optional[str] = None     # syscall: a harmless call that fails with ENOSYS where it is missing

    @property
    def syscall_name(self):
        """The system call an expression makes, for people: syscall(SYS_x, ...)
        names x; otherwise the last function called (a ternary's fallthrough),
        without the runtime's sr__ prefix."""
        text = self.text or ""
        if self.name:
            return self.name
        sysno = re.search(r"syscall\(SYS_([a-z0-9_]+)", text)
        if sysno:
            return sysno.group(1)
        names = [n for n in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\(", text) if n != "SR_POSIX"]
        if not names:
            return "?"
        return names[-1][4:] if names[-1].startswith("sr__") else names[-1]

    def describe(self):
        if self.kind == "op":
            how = {"rearm": " (re-armed)", "notif": " (two-phase completion kept)"}.get(self.how, "")
            return f"{self.target}{how}"
        if self.kind == "syscall":
            name = self.syscall_name
            where = {"in": " after readability", "out": " after writability"}.get(self.wait, "")
            return f"{name}(2){where}"
        if self.kind == "emulate":
            return f"emulated ({self.target})"
        return f"none: {self.text}"


@dataclass
class Direct:
    """What an op does to the ring's registered file table."""
    effect: str                 # install | close | update
    slot: Optional["Arg"]       # the argument naming the slot (or the first slot)
    slots: Optional["Arg"]      # install: a result array the kernel writes the slots into
    count: int                  # slots installed per completion
    loc: Loc

    @property
    def from_res(self):
        """install: the slot is the result (or, with a slot argument, when it is ALLOC)."""
        return self.effect == "install" and self.slots is None


@dataclass
class Opcode:
    number: int
    uapi: str
    base: "Op"

    @property
    def macro(self):
        return "SR_" + self.uapi


@dataclass
class Op:
    name: str
    opcode: Opcode
    kernel: Version
    kernel_source: Optional[str]
    doc: str
    helper: Helper
    fd_kind: str
    shape: str
    result: str
    args: List[Arg]
    options: List[Arg]
    sets: List[SetVal]
    forms: List[Form]
    fallback: List[Fallback]
    raw_pointers: Optional[str]
    requires_setup: List[str]
    test_skip: Optional[str]
    parent: Optional["Op"]
    loc: Loc
    index: int = -1
    direct: Optional[Direct] = None
    variants: List["Op"] = field(default_factory=list)

    # --- names -----------------------------------------------------------------
    @property
    def enum(self):
        return "SR_OP_" + self.name.upper()

    @property
    def t_op(self):
        return f"struct sr_{self.name}_op"

    @property
    def t_sub(self):
        return f"struct sr_{self.name}_submitted"

    @property
    def t_done(self):
        return f"struct sr_{self.name}_completed"

    @property
    def prep_name(self):
        return f"sr_prep_{self.name}"

    # --- derived views for templates ---------------------------------------------
    @property
    def checked(self):
        """True when memory arguments are owned/copied by the checked API."""
        return self.raw_pointers is None

    @property
    def ctor_args(self):
        """Arguments of the checked constructor sr_NAME(...), in order."""
        out = [a for a in self.args
               if not a.optional and a.checked_value is None and (a.derived_from is None or not self.checked)
               and not (self.checked and a.mem and a.mem.kind == "result")]
        out += [a for a in self.options if a.mem and a.mem.kind == "provided"]
        return out

    @property
    def setter_args(self):
        """Arguments set through sr_NAME_set_ARG()."""
        return [a for a in self.args if a.optional and a.checked_value is None] + \
               [a for a in self.options if not (a.mem and a.mem.kind == "provided")]

    @property
    def all_args(self):
        return self.args + self.options

    @property
    def mem_args(self):
        return [a for a in self.all_args if a.mem]

    @property
    def results(self):
        """`result` memory handed back in the Completed struct (checked API)."""
        if not self.checked:
            return []
        return [a for a in self.args if a.mem and a.mem.kind == "result"]

    @property
    def buffers(self):
        return [a for a in self.all_args if a.mem and a.mem.kind == "buffer"] if self.checked else []

    @property
    def bufvecs(self):
        return [a for a in self.all_args if a.mem and a.mem.kind == "bufvec"] if self.checked else []

    @property
    def msghdrs(self):
        return [a for a in self.all_args if a.mem and a.mem.kind == "msghdr"] if self.checked else []

    @property
    def copies(self):
        return [a for a in self.all_args if a.mem and a.mem.kind == "copy"] if self.checked else []

    @property
    def provided(self):
        return [a for a in self.all_args if a.mem and a.mem.kind == "provided"] if self.checked else []

    @property
    def targets(self):
        return [a for a in self.all_args if a.mem and a.mem.kind == "target"] if self.checked else []

    @property
    def needs_storage(self):
        """Bytes of op storage are needed (copies, results, iovec arrays, msghdrs)."""
        return bool(self.copies or self.results or self.bufvecs or self.msghdrs)

    @property
    def fd_arg(self):
        for a in self.args:
            if a.fd:
                return a
        return None

    @property
    def lifetimes(self):
        """Distinct lifetime classes of the memory this op touches, for docs/table."""
        seen = []
        for a in self.mem_args:
            lc = a.mem.lifetime_class
            if lc != "none" and lc not in seen:
                seen.append(lc)
        return seen

    @property
    def native_fallback(self):
        return [f for f in self.fallback]

    @property
    def family(self):
        return self.parent or self

    # --- what the checked builder keeps, and how submit turns it into SQE arguments ---

    def _checked_kind(self, a):
        return a.mem.kind if (self.checked and a.mem) else None

    @property
    def builder_fields(self):
        """Fields of struct sr_NAME_op: what the constructor and setters record."""
        out = []
        ctor = self.ctor_args
        for a in self.all_args:
            kind = self._checked_kind(a)
            if a.derived_from is not None and self.checked or a.checked_value is not None or kind == "result":
                continue
            decl = {
                "buffer": f"struct sr_buf *{a.name}",
                "bufvec": f"struct sr_buf *const *{a.name}",
                "copy": f"{a.ctype.const_c}{a.name}",
                "msghdr": f"const struct sr_msg *{a.name}",
                "provided": f"struct sr_bufgroup *{a.name}",
                "target": f"struct sr_handle {a.name}",
            }.get(kind, f"{a.ctype.c}{'' if a.ctype.is_ptr else ' '}{a.name}")
            if a in ctor:
                init = f"(struct sr_buf *){a.name}" if kind == "buffer" else a.name
            elif kind == "target":
                init = "(struct sr_handle){ 0 }"
            else:
                init = "0"
            out.append(_Field(a.name, decl, init))
        return out

    def prep_value(self, a):
        """What submit passes to sr_prep_NAME for argument a."""
        t = a.ctype.c
        if a.checked_value is not None:
            return f"({t})({a.checked_value})"
        if not self.checked:
            return f"op->{a.name}"
        if a.derived_from is not None:
            src = a.derived_from
            if a.derived_as == "len":
                unit = f" / sizeof({src.mem.unit})" if src.mem.unit else ""
                d = "SR__OUT" if src.mem.dir == "out" else "SR__IN"
                return f"({t})(sr__buf_io_len(op->{src.name}, {d}){unit})"
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
        if self.checked and a.mem and a.mem.kind == "provided":
            return f"(__u{a.field.bits})sr__group_id(op->{a.name})"
        return naming.store_expr(a, f"op->{a.name}")

    @property
    def forbids(self):
        return [a for a in self.all_args if a.checked_forbid is not None] if self.checked else []

    @property
    def has_checks(self):
        return bool(self.buffers or self.bufvecs or self.msghdrs or self.provided or self.targets)

    @property
    def lifetime_summary(self):
        """e.g. 'buf: completion (owned buffer, out)'; 'none' without user memory."""
        parts = []
        for a in self.mem_args:
            m = a.mem
            what = {"buffer": "owned buffer", "bufvec": "owned buffers", "copy": "copied at submit",
                    "result": "returned in the completion", "msghdr": "owned message",
                    "provided": "buffer group", "target": "another op's handle",
                    "key": "address, caller keeps it mapped"}[m.kind]
            if not self.checked and m.kind not in ("target",):
                what = "raw pointer, caller-managed"
            parts.append(f"{a.name}: {m.lifetime_class} ({what}{', ' + m.dir if m.dir else ''})")
        return "; ".join(parts) if parts else "none"

    @property
    def fallback_summary(self):
        return "; then ".join(f.describe() for f in self.fallback)

    @property
    def routes(self):
        """The fallback chain flattened into routes, best first.

        An {op: X} entry contributes X itself (when the kernel has it) and
        then X's own routes, each keeping the first non-'same' `how` met (with
        its repeat limit and stream rule), the setup flags every step needs,
        and the chain of SQE conversions from this op's layout to the one
        that runs.  Routes after a `none` are never taken."""
        out = []

        def walk(op, ctx, edges, seen):
            how, setup, repeat, more = ctx
            for fb in op.fallback:
                if fb.kind == "op":
                    t = fb.target_op
                    if how == "same" and fb.how != "same":
                        rep = op.arg(fb.repeat) if fb.repeat else None
                        c = (fb.how, setup, rep, fb.more_while or MORE_WHILE.get(op.result))
                    else:
                        c = ctx
                    if fb.setup:
                        c = (c[0], c[1] + [fb.setup], c[2], c[3])
                    e = edges + [(op, t, op.arg(fb.repeat) if fb.repeat else None)]
                    out.append(Route("kernel", t, c[0], e, None, None, f"{t.name}{_HOW[c[0]]}", c[1], c[2], c[3]))
                    if t.name not in seen:
                        walk(t, c, e, seen | {t.name})
                elif fb.kind == "syscall":
                    out.append(Route("syscall", op, how, edges, fb, None, fb.describe() + _HOW[how],
                                     setup, repeat, more))
                elif fb.kind == "emulate":
                    out.append(Route("emulate", op, how, edges, None, fb.target, fb.describe() + _HOW[how],
                                     setup, repeat, more))
                else:
                    out.append(Route("none", op, how, edges, None, None, fb.text))
                    return
        walk(self, ("same", [], None, None), [], {self.name})
        return out

    def arg(self, name):
        return next(a for a in self.all_args if a.name == name)

    @property
    def target_ops(self):
        """Ops named as targets of this op's target arguments ('any' names none)."""
        out = []
        for a in self.all_args:
            if a.mem and a.mem.kind == "target":
                out += [t for t in a.mem.of if t != "any" and t not in out]
        return out

    @property
    def selects_buffer(self):
        """The kernel picks this op's buffer from a provided-buffer group."""
        return any(a.mem and a.mem.kind == "provided" for a in self.all_args)

    @property
    def sys_fallback(self):
        """This op's own syscall entry, if its chain has one."""
        return next((f for f in self.fallback if f.kind == "syscall"), None)

    @property
    def has_finish(self):
        """Completion-time work: owned buffers to return, results to mark written,
        the registered file table's generations to move on."""
        return bool(self.buffers or self.bufvecs or self.msghdrs or self.results or self.direct)

    @property
    def slot_flags(self):
        """SR__SF_* the submit sets on the op's slot."""
        out = []
        if self.has_finish:
            out.append("SR__SF_FINISH")
        if self.shape == "multishot":
            out.append("SR__SF_MULTI")
        if self.shape == "notif":
            out.append("SR__SF_NOTIF")
        return out


@dataclass
class Spec:
    ops: List[Op]
    opcodes: List[Opcode]
    sqe_fields: List[SqeField]
    types: List[CType]
    constants: List[Constant]
    sqe_flags: List[FlagBit]
    cqe_flags: List[FlagBit]
    setup_flags: List[FlagBit]
    ladder: List[List[FlagBit]]
    features: List[FlagBit]
    register_ops: List[RegisterOp]
    sources: List[str]
    enter_flags: List[FlagBit] = field(default_factory=list)

    def op(self, name):
        for o in self.ops:
            if o.name == name:
                return o
        return None

    def field(self, name):
        for f in self.sqe_fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def edges(self):
        """Every SQE conversion some fallback route uses, once: [(a, b, plan)]."""
        out, seen = [], set()
        for o in self.ops:
            for r in o.routes:
                for a, b, rep in r.edges:
                    if (a.name, b.name) not in seen:
                        seen.add((a.name, b.name))
                        out.append((a, b, edge_plan(a, b, rep)))
        return out

    @property
    def sys_ops(self):
        """Ops whose chain has a syscall: they get an emulation function."""
        return [o for o in self.ops if o.sys_fallback]

    @property
    def helpers(self):
        """Every helper (op and form) with the prep function that mirrors it."""
        out = []
        for o in self.ops:
            if o.helper.name:
                out.append((o.helper, o.prep_name, o))
            for f in o.forms:
                out.append((f.helper, f.prep_name, o))
        return out


@dataclass
class EdgePlan:
    clears: list    # SqeFields to zero
    unors: list     # SetVals whose bits to clear
    sets: list      # SetVals of the target op to apply


def edge_plan(a, b, repeat=None):
    """What turns an SQE of op a into one of op b: the fields only a writes
    are cleared (a's buffer-group fields stay: the buffer selection carries
    over), and so is a re-armed op's repeat limit (the runtime counts the
    repeats); bits only a ORs in are cleared, b's constants are set.  The
    flags byte is never touched: it carries the caller's IOSQE bits."""
    def spans(op):
        out = set()
        for x in op.all_args:
            out.update(x.field.span)
        for st in op.sets:
            if not st.is_or:
                out.update(st.field.span)
        return out
    b_spans = spans(b)
    clear, seen = ([repeat.field], {repeat.field.name}) if repeat else ([], set())
    for x in a.all_args:
        if x.mem and x.mem.kind == "provided":
            continue
        if x.field.name != "flags" and not set(x.field.span) & b_spans and x.field.name not in seen:
            clear.append(x.field)
            seen.add(x.field.name)
    for st in a.sets:
        if not st.is_or and st.field.name != "flags" and not set(st.field.span) & b_spans \
                and st.field.name not in seen:
            clear.append(st.field)
            seen.add(st.field.name)
    b_or = {(st.field.name, st.value) for st in b.sets if st.is_or}
    unor = [st for st in a.sets if st.is_or and (st.field.name, st.value) not in b_or]
    a_set = {(st.field.name, st.value) for st in a.sets if not st.is_or}
    sets = [st for st in b.sets if (st.field.name, st.value) not in a_set and st.field.name != "flags"]
    return EdgePlan(clear, unor, sets)


# --- building ---------------------------------------------------------------

class Builder:
    def __init__(self, ring_node, ops_node, sources):
        self.sources = sources
        self.ring = ring_node
        self.ops_node = ops_node
        self.fields = {}
        self.types = {}
        self.constants = {}

    def build(self):
        self._ring_tables()
        ops = self._ops()
        return Spec(ops=ops, opcodes=self.opcodes, sqe_fields=list(self.fields.values()),
                    types=list(self.types.values()), constants=list(self.constants.values()),
                    sqe_flags=self.sqe_flags, cqe_flags=self.cqe_flags,
                    setup_flags=self.setup_flags, ladder=self.ladder, features=self.features,
                    register_ops=self.register_ops, sources=self.sources, enter_flags=self.enter_flags)

    # --- ring.yaml ---------------------------------------------------------------

    def _ring_tables(self):
        r = self.ring
        for n in r["sqe_fields"].value:
            name = n["name"].value
            if name in self.fields:
                raise SpecError(n["name"].loc, f"SQE field '{name}' defined twice")
            f = SqeField(name, n["offset"].value, n["size"].value,
                         bool(n.get("signed") and n["signed"].value), self._version(n["liburing"]), n.loc)
            if f.size not in (1, 2, 4, 8) or f.offset % f.size or f.offset + f.size > 64:
                raise SpecError(n.loc, f"SQE field '{name}': {f.size} bytes at offset {f.offset} "
                                "is not a naturally aligned 1/2/4/8-byte member of the 64-byte SQE")
            self.fields[name] = f
        for n in r["types"].value:
            c = n["c"].value
            if c in self.types:
                raise SpecError(n["c"].loc, f"type '{c}' defined twice")
            kind = n["kind"].value
            size = n["size"].value if "size" in n else 8
            if kind == "int" and "size" not in n:
                raise SpecError(n.loc, f"integer type '{c}' needs a size")
            if kind == "ptr" and not c.endswith("*"):
                raise SpecError(n["c"].loc, f"pointer type '{c}' must end in '*'")
            self.types[c] = CType(c, kind, size, bool(n.get("signed") and n["signed"].value),
                                  n["pointee"].value if "pointee" in n else None, n.loc)
        for n in r["constants"].value:
            name = n["name"].value
            if name in self.constants:
                raise SpecError(n["name"].loc, f"constant '{name}' defined twice")
            self.constants[name] = Constant(name, n["value"].value, self._version(n["kernel"]), n.loc)
        self.sqe_flags = self._flags(r["sqe_flags"], 8)
        self.cqe_flags = self._flags(r["cqe_flags"], 32)
        self.features = self._flags(r["features"], 32)
        self.enter_flags = self._flags(r["enter_flags"], 32) if "enter_flags" in r else []
        self.setup_flags = self._flags(r["setup_flags"], 32)
        by_name = {f.name: f for f in self.setup_flags}
        for f in self.setup_flags:
            for ref in f.requires + f.requires_any + f.conflicts:
                if ref not in by_name:
                    raise SpecError(f.loc, f"{f.name} refers to unknown setup flag '{ref}'")
        self.ladder = []
        rungs = r["setup_ladder"].value
        for rung in rungs:
            flags = []
            for n in rung.value:
                if n.value not in by_name:
                    raise SpecError(n.loc, f"setup_ladder: unknown setup flag '{n.value}'")
                flags.append(by_name[n.value])
            names = {f.name for f in flags}
            for f in flags:
                missing = [x for x in f.requires if x not in names]
                if missing:
                    raise SpecError(rung.loc, f"setup_ladder rung has {f.name} without {', '.join(missing)}, which it requires")
                if f.requires_any and not names.intersection(f.requires_any):
                    raise SpecError(rung.loc, f"setup_ladder rung has {f.name} without one of {', '.join(f.requires_any)}")
                clash = [x for x in f.conflicts if x in names]
                if clash:
                    raise SpecError(rung.loc, f"setup_ladder rung has {f.name} together with {', '.join(clash)}, which conflict")
            self.ladder.append(flags)
        if not rungs or rungs[-1].value:
            raise SpecError(r["setup_ladder"].loc, "setup_ladder must end with an empty rung [] (plain setup)")
        self.register_ops = []
        seen = {}
        for n in r["register_ops"].value:
            op = RegisterOp(n["name"].value, n["code"].value, self._version(n["kernel"]),
                            n["kernel_note"].value if "kernel_note" in n else None,
                            n["doc"].value if "doc" in n else None, n.loc)
            if op.code in seen:
                raise SpecError(n["code"].loc, f"register op code {op.code} used twice ({seen[op.code]} and {op.name})")
            seen[op.code] = op.name
            self.register_ops.append(op)

    def _flags(self, node, width):
        out, bits = [], {}
        for n in node.value:
            name, bit = n["name"].value, n["bit"].value
            if not 0 <= bit < width:
                raise SpecError(n["bit"].loc, f"{name}: bit {bit} does not fit a {width}-bit flag word")
            if bit in bits:
                raise SpecError(n["bit"].loc, f"{name}: bit {bit} already used by {bits[bit]}")
            bits[bit] = name
            lst = lambda k: [x.value for x in n[k].value] if k in n else []  # noqa: E731
            out.append(FlagBit(name, bit, self._version(n["kernel"]),
                               n["doc"].value if "doc" in n else "",
                               bool(n["user"].value) if "user" in n else True,
                               n["kernel_note"].value if "kernel_note" in n else None,
                               lst("requires"), lst("requires_any"), lst("conflicts"), n.loc))
        return out

    def _version(self, node):
        return Version.parse(node.value)

    # --- ops.yaml --------------------------------------------------------------------

    def _ops(self):
        ops, by_name, by_number, helpers = [], {}, {}, {}
        self.opcodes = []
        for n in self.ops_node["ops"].value:
            base = self._op(n, None)
            if base.opcode.number in by_number:
                raise SpecError(n["opcode"].loc, f"opcode {base.opcode.number} is already '{by_number[base.opcode.number]}'")
            by_number[base.opcode.number] = base.name
            self.opcodes.append(base.opcode)
            family = [base] + [self._op(v, base) for v in (n["variants"].value if "variants" in n else [])]
            base.variants = family[1:]
            for o in family:
                if o.name in by_name:
                    raise SpecError(o.loc, f"op name '{o.name}' is already used", f"first defined at {by_name[o.name].loc}")
                by_name[o.name] = o
                for h, loc in [(o.helper, o.loc)] + [(f.helper, f.loc) for f in o.forms]:
                    if h.name:
                        if h.name in helpers:
                            raise SpecError(h.loc, f"helper {h.name} is already the reference of '{helpers[h.name]}'")
                        helpers[h.name] = o.name
                ops.append(o)
        preps = {}
        for o in ops:
            for pname, loc in [(o.prep_name, o.loc)] + [(f.prep_name, f.loc) for f in o.forms]:
                if pname in preps:
                    raise SpecError(loc, f"{pname} would be generated twice", f"also from {preps[pname]}; give the form a name:")
                preps[pname] = loc
        # Opcodes: upstream's enum is dense and append-only.
        numbers = sorted(by_number)
        for i, num in enumerate(numbers):
            if num != i:
                raise SpecError(self.ops_node["ops"].loc, f"opcode {i} is missing: the enum is dense from 0")
        prev = None
        for oc in sorted(self.opcodes, key=lambda o: o.number):
            b = oc.base
            if prev and b.kernel < prev.kernel:
                raise SpecError(b.loc, f"{b.name} (opcode {oc.number}) says Linux {b.kernel}, older than "
                                f"{prev.name} (opcode {prev.opcode.number}, Linux {prev.kernel})",
                                "the opcode enum is append-only, so a higher number cannot be older")
            prev = b
        self.opcodes.sort(key=lambda o: o.number)
        for i, o in enumerate(ops):
            o.index = i
        # Cross-references: fallbacks and targets.
        for o in ops:
            for fb in o.fallback:
                if fb.kind == "op":
                    t = by_name.get(fb.target)
                    if t is None:
                        raise SpecError(fb.loc, f"{o.name}: fallback names unknown op '{fb.target}'")
                    if t is o:
                        raise SpecError(fb.loc, f"{o.name}: an op cannot fall back to itself")
                    fb.target_op = t
                    if fb.repeat and not any(a.name == fb.repeat for a in o.all_args):
                        raise SpecError(fb.loc, f"{o.name}: repeat: names no argument of {o.name} "
                                        f"('{fb.repeat}')")
                    if fb.how == "rearm" and o.shape != "multishot":
                        raise SpecError(fb.loc, f"{o.name}: how: rearm stands for a multishot op, "
                                        f"but {o.name} is {o.shape}")
                    if fb.how == "rearm" and not fb.more_while and o.result not in MORE_WHILE:
                        raise SpecError(fb.loc, f"{o.name}: a re-armed {o.result} result needs more_while: "
                                        "(positive, nonneg or etime) to say which results keep the stream going")
                    if fb.how == "notif" and o.shape != "notif":
                        raise SpecError(fb.loc, f"{o.name}: how: notif stands for a two-phase op, "
                                        f"but {o.name} is {o.shape}")
        for o in ops:
            # Alternate-op fallbacks must not lead back to where they started.
            seen, cur, first = [o.name], o, None
            while True:
                nxt = next((f for f in cur.fallback if f.kind == "op"), None)
                if nxt is None:
                    break
                first = first or nxt
                if nxt.target in seen:
                    raise SpecError(first.loc, f"{o.name}: fallback chain loops: {' -> '.join(seen + [nxt.target])}")
                seen.append(nxt.target)
                cur = by_name[nxt.target]
            for a in o.all_args:
                if a.mem and a.mem.kind == "target":
                    for t in a.mem.of:
                        if t != "any" and t not in by_name:
                            raise SpecError(a.loc, f"{o.name}.{a.name}: target names unknown op '{t}'")
        return ops

    def _op(self, n, parent):
        def opt(key, default=None):
            if key in n:
                return n[key].value
            return default

        name = n["name"].value
        naming.check_ident(name, n["name"].loc)
        naming.check_op_name(name, n["name"].loc)
        kernel = self._version(n["kernel"])
        if parent is None:
            number = n["opcode"].value
            if not 0 <= number <= 255:
                raise SpecError(n["opcode"].loc, f"opcode {number} does not fit the SQE's 8-bit opcode")
            uapi = opt("uapi", "IORING_OP_" + name.upper())
            opcode = Opcode(number, uapi, None)
        else:
            opcode = parent.opcode
            if kernel < parent.kernel:
                raise SpecError(n["kernel"].loc, f"variant {name} says Linux {kernel}, older than its "
                                f"opcode's {parent.name} (Linux {parent.kernel})")
        hnode = n["helper"]
        helper = self._helper(hnode)
        op = Op(name=name, opcode=opcode, kernel=kernel,
                kernel_source=opt("kernel_source"), doc=n["doc"].value, helper=helper,
                fd_kind=opt("fd_kind", parent.fd_kind if parent else None),
                shape=opt("shape", parent.shape if parent else None),
                result=opt("result", parent.result if parent else None),
                args=[], options=[], sets=[], forms=[], fallback=[],
                raw_pointers=None, requires_setup=[], test_skip=None, parent=parent, loc=n.loc)
        if parent is None:
            opcode.base = op
        # Arguments: own, replaced, or the parent's plus additions.
        if parent is not None and "args" in n and "args_add" in n:
            raise SpecError(n["args_add"].loc, f"{name}: give args or args_add, not both")
        if parent is None or "args" in n:
            op.args = [self._arg(a, name) for a in (n["args"].value if "args" in n else [])]
        else:
            op.args = [self._arg(a.source, name) for a in parent.args]
            op.args += [self._arg(a, name) for a in (n["args_add"].value if "args_add" in n else [])]
        if "options" in n:
            op.options = [self._arg(a, name) for a in n["options"].value]
        elif parent is not None:
            op.options = [self._arg(a.source, name) for a in parent.options]
        for a in op.options:
            if a.optional:
                raise SpecError(a.loc, f"{name}.{a.name}: options are optional already; drop 'optional'")
        # Constant fields: the parent's (unless the variant replaced its args) merged with ours.
        sets = {}
        if parent is not None:
            for s in parent.sets:
                sets[s.field.name] = s
        if "set" in n:
            for key, vnode in n["set"].value.items():
                if vnode.kind == "scalar" and vnode.value is None:
                    sets.pop(key, None)
                    continue
                sets[key] = self._setval(key, vnode, n["set"].key_locs[key], name)
        op.sets = list(sets.values())
        # Checked-API mode.
        if "checked" in n:
            op.raw_pointers = n["checked"]["raw_pointers"].value
        elif parent is not None:
            op.raw_pointers = parent.raw_pointers
        if "requires" in n:
            op.requires_setup = [x.value for x in n["requires"]["setup_any"].value]
            known = {f.name for f in self.setup_flags}
            for x in n["requires"]["setup_any"].value:
                if x.value not in known:
                    raise SpecError(x.loc, f"{name}: unknown setup flag '{x.value}'")
        elif parent is not None:
            op.requires_setup = list(parent.requires_setup)
        if "test" in n:
            op.test_skip = n["test"]["skip"].value
        elif parent is not None:
            op.test_skip = parent.test_skip
        self._link_mem(op)
        if "direct" in n:
            op.direct = self._direct(op, n["direct"])
        self._check_fields(op)
        nbuf = [a for a in op.all_args if a.mem and a.mem.kind == "buffer"]
        if len(nbuf) > 2:
            raise SpecError(nbuf[2].loc, f"{name}: at most two owned buffers per op (the slot keeps two)")
        # Forms (raw helper aliases).
        for fnode in (n["forms"].value if "forms" in n else []):
            op.forms.append(self._form(fnode, op))
        # Fallback chain: own, else inherited.
        if "fallback" in n:
            op.fallback = [self._fallback(f) for f in n["fallback"].value]
        elif parent is not None:
            op.fallback = [dataclasses.replace(f, target_op=None) for f in parent.fallback]
        if not op.fallback:
            raise SpecError(n.loc, f"{name}: needs a fallback chain (use {{none: reason}} if there is none)")
        return op

    def _helper(self, node):
        text = node.value
        if text == "none":
            return Helper(None, None, node.loc)
        m = HELPER.match(text)
        hname, since = text.split("@")
        return Helper(hname, since, node.loc)

    def _arg(self, n, opname):
        name = n["name"].value
        naming.check_ident(name, n["name"].loc)
        naming.check_arg_name(name, n["name"].loc)
        tname = n["type"].value
        ctype = self.types.get(tname)
        if ctype is None:
            raise SpecError(n["type"].loc, f"{opname}.{name}: unknown C type '{tname}'",
                            "known types are listed under types: in spec/ring.yaml")
        fname = n["field"].value
        f = self.fields.get(fname)
        if f is None:
            raise SpecError(n["field"].loc, f"{opname}.{name}: unknown SQE field '{fname}'")
        flag = lambda k: bool(n[k].value) if k in n else False  # noqa: E731
        arg = Arg(name=name, ctype=ctype, field=f, fd=flag("fd"), optional=flag("optional"),
                  truncate=flag("truncate"), encode=n["encode"].value if "encode" in n else None,
                  doc=n["doc"].value if "doc" in n else None, mem=None,
                  checked_value=None, checked_why=None, loc=n.loc)
        arg.source = n
        # Width: an integer must fit its field unless the spec says liburing truncates.
        if ctype.is_ptr:
            if f.size != 8:
                raise SpecError(n["field"].loc, f"{opname}.{name}: pointer into {f.size}-byte field '{fname}'")
        elif ctype.size > f.size and not arg.truncate:
            raise SpecError(n["field"].loc, f"{opname}.{name}: {ctype.size}-byte {tname} does not fit "
                            f"{f.size}-byte field '{fname}'", "add truncate: true if liburing truncates it too")
        elif ctype.size <= f.size and arg.truncate:
            raise SpecError(n["truncate"].loc, f"{opname}.{name}: truncate: true but {tname} fits '{fname}'")
        if arg.fd and (ctype.c != "int"):
            raise SpecError(n["fd"].loc, f"{opname}.{name}: fd: true needs type int")
        if "checked" in n:
            arg.checked_why = n["checked"]["why"].value
            if "value" in n["checked"]:
                arg.checked_value = self._const_expr(n["checked"]["value"], opname)
                if arg.optional:
                    raise SpecError(n["checked"].loc, f"{opname}.{name}: a checked value cannot also be optional")
            else:
                arg.checked_forbid = self._const_expr(n["checked"]["forbid"], opname)
        if "mem" in n:
            arg.mem = self._mem(n["mem"], arg, opname)
        elif ctype.is_ptr and arg.checked_value is None:
            raise SpecError(n.loc, f"{opname}.{name}: pointer argument without mem: (the kernel touches "
                            "this memory; say how long it must live)")
        return arg

    def _mem(self, n, arg, opname):
        kind = n["kind"].value
        get = lambda k: n[k].value if k in n else None  # noqa: E731
        m = Mem(kind=kind, dir=get("dir"), lifetime=get("lifetime"), unit=get("unit"),
                ctype=get("ctype"), init=get("init"), note=get("note"))
        m._names = {k: (n[k].value, n[k].loc) for k in ("len", "count", "fixed") if k in n}
        if "size" in n:
            s = n["size"]
            if s.kind == "map":
                m._size = ("array", s["array"].value, s.loc)
            elif s.value in ("string", "sizeof"):
                m._size = (s.value, None, s.loc)
            else:
                m._size = ("arg", s.value, s.loc)
        else:
            m._size = None
        if "of" in n:
            m.of = [x.value for x in n["of"].value]
        need = {"buffer": ("dir", "lifetime"), "bufvec": ("dir", "lifetime", "count"),
                "copy": ("size", "lifetime"), "result": ("ctype", "lifetime"),
                "msghdr": ("dir", "lifetime"), "provided": ("lifetime",), "target": ("of",),
                "key": ("lifetime",)}[kind]
        allowed = set(need) | {"kind", "note"} | {
            "buffer": {"len", "fixed", "unit"}, "bufvec": {"fixed"}, "result": {"init"},
            "copy": set(), "msghdr": {"fixed"}, "provided": set(), "target": set(), "key": set()}[kind]
        for k in need:
            if k not in n:
                raise SpecError(n.loc, f"{opname}.{arg.name}: mem kind '{kind}' needs '{k}'")
        for k in n.value:
            if k not in allowed:
                raise SpecError(n.key_locs[k], f"{opname}.{arg.name}: '{k}' does not apply to mem kind '{kind}'")
        if kind in ("buffer", "bufvec", "msghdr", "copy", "result", "key") and not arg.ctype.is_ptr:
            raise SpecError(n.loc, f"{opname}.{arg.name}: mem kind '{kind}' needs a pointer argument")
        if kind in ("provided", "target") and arg.ctype.is_ptr:
            raise SpecError(n.loc, f"{opname}.{arg.name}: mem kind '{kind}' is an integer argument")
        if kind == "buffer" and m.dir == "out" and arg.ctype.is_const_ptr:
            raise SpecError(n.loc, f"{opname}.{arg.name}: the kernel writes this buffer but its type is {arg.ctype.c}")
        if kind == "buffer" and m.lifetime not in ("completion", "notification"):
            raise SpecError(n["lifetime"].loc, f"{opname}.{arg.name}: a data buffer lives until completion or notification")
        return m

    def _link_mem(self, op):
        """Resolve len/count/fixed/size references to arguments of the same op."""
        by = {a.name: a for a in op.all_args}
        for a in op.all_args:
            m = a.mem
            if not m:
                continue
            for role, (ref, loc) in m._names.items():
                t = by.get(ref)
                if t is None:
                    raise SpecError(loc, f"{op.name}.{a.name}: {role} names unknown argument '{ref}'")
                if t.ctype.is_ptr:
                    raise SpecError(loc, f"{op.name}.{a.name}: {role} argument '{ref}' must be an integer")
                setattr(m, role, t)
                if role in ("len", "fixed"):
                    if t.derived_from is not None:
                        raise SpecError(loc, f"{op.name}.{ref}: derived from two buffers")
                    t.derived_from, t.derived_as = a, role
            if m._size:
                kind, ref, loc = m._size
                if kind in ("arg", "array"):
                    t = by.get(ref)
                    if t is None:
                        raise SpecError(loc, f"{op.name}.{a.name}: size names unknown argument '{ref}'")
                    if t.ctype.is_ptr:
                        raise SpecError(loc, f"{op.name}.{a.name}: size argument '{ref}' must be an integer")
                    m.size = Size(kind, t)
                else:
                    m.size = Size(kind)
                if kind == "string" and a.ctype.pointee_c != "char":
                    raise SpecError(loc, f"{op.name}.{a.name}: size: string needs a char pointer")
                if kind in ("sizeof", "array") and a.ctype.pointee_c in ("char",):
                    raise SpecError(loc, f"{op.name}.{a.name}: size: {kind} needs a typed pointer, not {a.ctype.c}")

    def _check_fields(self, op):
        """Every argument writes one field; no two writes overlap."""
        owner = {}
        writes = [(a.field, f"argument '{a.name}'", a.loc, False) for a in op.all_args]
        writes += [(s.field, f"set {s.field.name}", s.loc, s.is_or) for s in op.sets]
        if any(w[0].name in ("opcode", "user_data") for w in writes):
            bad = next(w for w in writes if w[0].name in ("opcode", "user_data"))
            raise SpecError(bad[2], f"{op.name}: {bad[1]} writes '{bad[0].name}', which the runtime owns")
        plain = [w for w in writes if not w[3]]
        for f, what, loc, _ in plain:
            for b in f.span:
                if b in owner:
                    raise SpecError(loc, f"{op.name}: {what} writes SQE byte {b} ({f.name}), "
                                    f"already written by {owner[b]}")
                owner[b] = f"{what} ({f.name})"

    def _setval(self, key, vnode, loc, opname):
        f = self.fields.get(key)
        if f is None:
            raise SpecError(loc, f"{opname}: set names unknown SQE field '{key}'")
        if vnode.kind == "map":
            return SetVal(f, self._const_expr(vnode["or"], opname), True, loc)
        return SetVal(f, self._const_expr(vnode, opname), False, loc)

    def _const_expr(self, node, opname):
        v = node.value
        if isinstance(v, bool) or v is None:
            raise SpecError(node.loc, f"{opname}: expected a number or a constant name")
        if isinstance(v, int):
            return str(v)
        if v in self.constants:
            return self.constants[v].macro
        for f in self.sqe_flags + self.setup_flags + self.cqe_flags:
            if f.name == v:
                return f.macro
        raise SpecError(node.loc, f"{opname}: unknown constant '{v}'",
                        "constants and flags are listed in spec/ring.yaml")

    def _form(self, n, op):
        helper = self._helper(n["helper"])
        if not helper.name:
            raise SpecError(n["helper"].loc, f"{op.name}: a form needs a helper")
        by = {a.name: a for a in op.args}
        if "args" in n:
            args = []
            for an in n["args"].value:
                if an.kind == "scalar":
                    if an.value not in by:
                        raise SpecError(an.loc, f"{op.name}: form {helper.name} names unknown argument '{an.value}'")
                    args.append(by[an.value])
                else:
                    args.append(self._arg(an, op.name))
        else:
            args = list(op.args)
        args += [self._arg(a, op.name) for a in (n["args_add"].value if "args_add" in n else [])]
        sets = {s.field.name: s for s in op.sets}
        if "set" in n:
            for key, vnode in n["set"].value.items():
                sets[key] = self._setval(key, vnode, n["set"].key_locs[key], op.name)
        form = Form(helper, args, list(sets.values()), n.loc, n["name"].value if "name" in n else None)
        # A form writes fields too: check it the same way as an op.
        fake = Op(name=f"{op.name} form {helper.name}", opcode=op.opcode, kernel=op.kernel, kernel_source=None,
                  doc="", helper=helper, fd_kind=op.fd_kind, shape=op.shape, result=op.result,
                  args=args, options=[], sets=form.sets, forms=[], fallback=[], raw_pointers=None,
                  requires_setup=[], test_skip=None, parent=None, loc=n.loc)
        self._check_fields(fake)
        return form

    def _direct(self, op, n):
        effect = next(k for k in ("install", "close", "update") if k in n)
        v = n[effect]
        if v.value == "res":
            if effect != "install" or op.result not in ("slot",):
                raise SpecError(v.loc, f"{op.name}: direct {effect}: res names the slot only for result: slot")
            return Direct(effect, None, None, 1, n.loc)
        a = next((x for x in op.all_args if x.name == v.value), None)
        if a is None:
            raise SpecError(v.loc, f"{op.name}: direct {effect}: no argument '{v.value}'")
        if a.mem and a.mem.kind == "result":
            m = re.search(r"\[(\d+)\]$", a.mem.ctype or "")
            if effect != "install" or not m:
                raise SpecError(v.loc, f"{op.name}: direct {effect}: '{a.name}' must be an array result "
                                "the kernel writes the slots into")
            return Direct(effect, None, a, int(m.group(1)), n.loc)
        if a.mem or a.ctype.is_ptr:
            raise SpecError(v.loc, f"{op.name}: direct {effect}: '{a.name}' must be a slot number")
        return Direct(effect, a, None, 1, n.loc)

    def _fallback(self, n):
        get = lambda k: n[k].value if k in n else None  # noqa: E731
        for key, kind in (("how", "op"), ("setup", "op"), ("repeat", "op"), ("more_while", "op"),
                          ("wait", "syscall"), ("name", "syscall"), ("queued_at_submit", "syscall"),
                          ("kernel", "syscall"), ("probe", "syscall")):
            if key in n and kind not in n:
                article = "an" if kind == "op" else "a"
                raise SpecError(n[key].loc, f"{key}: applies to {article} {{{kind}: ...}} fallback")
        for key in ("repeat", "more_while"):
            if key in n and get("how") != "rearm":
                raise SpecError(n[key].loc, f"{key}: applies to a fallback with how: rearm")
        if "setup" in n and get("setup") not in {f.name for f in self.setup_flags}:
            raise SpecError(n["setup"].loc, f"unknown setup flag '{get('setup')}'")
        if "op" in n:
            return Fallback("op", get("op"), get("how") or "same", None, n.loc, setup=get("setup"),
                            repeat=get("repeat"), more_while=get("more_while"))
        if "syscall" in n:
            if ("kernel" in n) != ("probe" in n):
                key = "kernel" if "kernel" in n else "probe"
                raise SpecError(n[key].loc, "kernel: and probe: go together (the date for simulated kernels, "
                                "the trial for real ones)")
            return Fallback("syscall", None, None, get("syscall"), n.loc, wait=get("wait"), name=get("name"),
                            queued_at_submit=bool(get("queued_at_submit")),
                            kernel=self._version(n["kernel"]) if "kernel" in n else None, probe=get("probe"))
        if "emulate" in n:
            return Fallback("emulate", get("emulate"), None, None, n.loc)
        return Fallback("none", None, None, get("none"), n.loc)


def build(ring_node, ops_node, sources):
    return Builder(ring_node, ops_node, sources).build()
