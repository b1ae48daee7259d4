# SPDX-License-Identifier: MIT
"""The typed model of the spec: dataclasses built (and checked) by build.py.

Each object keeps the Loc of the node it came from so later checks can
point at the right line.
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional

from . import naming
from .errors import Loc
from .schema import VERSION

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


# Which results keep a re-armed stream going, by result kind (status needs more_while).
MORE_WHILE = {"bytes": "positive", "mask": "positive", "count": "positive",
              "fd": "nonneg", "slot": "nonneg", "index": "nonneg", "value": "nonneg"}


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
