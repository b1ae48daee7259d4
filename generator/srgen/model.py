# SPDX-License-Identifier: MIT
"""The model of the spec: plain dataclasses, built and checked by build.py.

Objects hold facts from the spec and views derived from them (which
arguments carry owned buffers, what the checked constructor takes); how
any of it is spelled in C is cnames.py's business.  Each object keeps the
Loc of the node it came from, so later checks can point at the right line.
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional, Union

from .errors import Loc
from .schema import VERSION

DEBIAN_LIBURING = (2, 3)

# Which results keep a re-armed stream going, by result kind (status needs more_while).
MORE_WHILE = {"bytes": "positive", "mask": "positive", "count": "positive",
              "fd": "nonneg", "slot": "nonneg", "index": "nonneg", "value": "nonneg"}


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

    def __str__(self):
        return f"{self.name}@{self.since}" if self.name else "none"


# --- ring.yaml ------------------------------------------------------------------

@dataclass
class SqeField:
    name: str
    offset: int
    size: int
    signed: bool
    liburing: Version   # first liburing release whose struct io_uring_sqe has it
    loc: Loc

    @property
    def bits(self):
        return self.size * 8

    @property
    def span(self):
        return range(self.offset, self.offset + self.size)


@dataclass
class CType:
    c: str               # as the spec writes it: "const struct iovec *"
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
    def base(self):
        """What a pointer points to, without const: "struct iovec", "void"."""
        return self.c.replace("const ", "").rstrip(" *")

    @property
    def points_to_bytes(self):
        """A void or char pointer: its memory has no element type."""
        return self.base in ("void", "char")


@dataclass
class Constant:
    name: str
    value: int
    kernel: Version
    loc: Loc


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


@dataclass
class RegisterOp:
    name: str
    code: int
    kernel: Version
    kernel_note: Optional[str]
    doc: Optional[str]
    loc: Loc


@dataclass
class Header:
    """A C header some generated file includes, and the names in it the spec's C text uses."""
    include: str                 # "sys/uio.h"
    names: List[str]             # identifiers, or struct/union/enum tags ("struct iovec")
    loc: Loc


# A number, or a named constant or flag of ring.yaml (set: values, checked: values).
Value = Union[int, Constant, FlagBit]


def value_key(v):
    """Something hashable that tells two Values apart."""
    return v if isinstance(v, int) else v.name


# --- ops.yaml -------------------------------------------------------------------

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
    checked_value: Optional[Value]   # what the checked API writes instead
    checked_why: Optional[str]
    loc: Loc
    checked_forbid: Optional[Value] = None  # bits the checked API refuses in this argument
    checked_or: Optional[Value] = None      # bits the checked API always ORs in
    # A modifier's argument on an op (send_set_addr on send_zc): set through
    # the modifier's one setter, not a setter of its own.
    modifier: Optional["HelperEntry"] = None
    # Bits a variant of another shape sets in this argument's field: they
    # would change the completion shape under the checked API's feet.
    shape_forbids: List["Forbid"] = field(default_factory=list)
    # Set when another argument derives this one in the checked API.
    derived_from: Optional["Arg"] = None
    derived_as: Optional[str] = None  # len | count | fixed


@dataclass
class Forbid:
    # Bits of an argument the checked submit refuses, and why.
    arg: "Arg"
    value: Value
    why: str


@dataclass
class SetVal:
    field: SqeField
    value: Value
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
    sleeps: bool = False            # syscall: may wait for another party; never on the submitting thread
    text_node: object = None        # syscall: the loader node of the expression (for error positions)
    kernel: Optional["Version"] = None  # syscall: the kernel that brought the system call
    probe: Optional[str] = None     # syscall: a harmless call that fails with ENOSYS where it is missing
    locals: List[str] = field(default_factory=list)  # syscall: variables the expression may use ("unsigned long n")
    locals_nodes: list = field(default_factory=list)  # ... their loader nodes (for error positions)

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
        """The entry for people: docs, the op table, error messages."""
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
    loc: Loc            # of the base op's `opcode:`


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
    id: int = -1            # SR_OP_*: fixed in the spec, never renumbered
    id_loc: Loc = None
    kernel_loc: Loc = None
    direct: Optional[Direct] = None
    variants: List["Op"] = field(default_factory=list)
    modifiers: List["ModifierUse"] = field(default_factory=list)   # modifiers with a setter on this op

    # --- the arguments, by what the checked API does with them ----------------------
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
               [a for a in self.options if not (a.mem and a.mem.kind == "provided") and a.checked_value is None
                and a.modifier is None]

    @property
    def builder_args(self):
        """Arguments the checked builder records (the others are derived, fixed or results)."""
        return [a for a in self.all_args
                if not (a.derived_from is not None and self.checked or a.checked_value is not None
                        or self.checked_kind(a) == "result")]

    def checked_kind(self, a):
        """a's memory kind as the checked API handles it (None: a plain value)."""
        return a.mem.kind if (self.checked and a.mem) else None

    @property
    def all_args(self):
        return self.args + self.options

    @property
    def mem_args(self):
        return [a for a in self.all_args if a.mem]

    def _kind(self, kind):
        return [a for a in self.all_args if a.mem and a.mem.kind == kind] if self.checked else []

    @property
    def results(self):
        """`result` memory handed back in the Completed struct (checked API)."""
        if not self.checked:
            return []
        return [a for a in self.args if a.mem and a.mem.kind == "result"]

    @property
    def buffers(self):
        return self._kind("buffer")

    @property
    def bufvecs(self):
        return self._kind("bufvec")

    @property
    def msghdrs(self):
        return self._kind("msghdr")

    @property
    def copies(self):
        return self._kind("copy")

    @property
    def provided(self):
        return self._kind("provided")

    @property
    def targets(self):
        return self._kind("target")

    @property
    def out_buffers(self):
        """Owned buffers the kernel writes into."""
        return [a for a in self.buffers if a.mem.dir == "out"]

    @property
    def out_msghdrs(self):
        """Messages the kernel writes (their msg_flags come back)."""
        return [a for a in self.msghdrs if a.mem.dir == "out"]

    def or_sets(self, f):
        """The OR-sets into field f (they follow an option writing it)."""
        return [s for s in self.sets if s.is_or and s.field is f]

    @property
    def installs(self):
        """The op puts files into the registered file table."""
        return bool(self.direct and self.direct.effect == "install")

    @property
    def fill_reads_store(self):
        """Completion fills results or msg_flags from op storage."""
        return bool(self.results or self.out_msghdrs)

    @property
    def fill_reads_slot(self):
        """Completion reads more than the CQE: lent buffers, storage, the group, file slots."""
        return bool(self.shape == "notif" or self.buffers or self.fill_reads_store or self.provided
                    or self.installs)

    @property
    def forbids(self):
        if not self.checked:
            return []
        return ([Forbid(a, a.checked_forbid, a.checked_why) for a in self.all_args if a.checked_forbid is not None]
                + [f for a in self.all_args for f in a.shape_forbids])

    @property
    def needs_storage(self):
        """Bytes of op storage are needed (copies, results, iovec arrays, msghdrs)."""
        return bool(self.copies or self.results or self.bufvecs or self.msghdrs)

    @property
    def has_checks(self):
        return bool(self.buffers or self.bufvecs or self.msghdrs or self.provided or self.targets)

    @property
    def has_finish(self):
        """Completion-time work: owned buffers to return, results to mark written,
        the registered file table's generations to move on."""
        return bool(self.buffers or self.bufvecs or self.msghdrs or self.results or self.direct)

    @property
    def fd_arg(self):
        for a in self.args:
            if a.fd:
                return a
        return None

    def arg(self, name):
        return next(a for a in self.all_args if a.name == name)

    # --- what the op does beyond its SQE ---------------------------------------------
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
    def sends_group(self):
        """The buffers the kernel picks hold data to send (a send group), not room to fill."""
        return any(a.mem and a.mem.kind == "provided" and a.mem.dir == "in" for a in self.all_args)

    @property
    def sys_fallback(self):
        """This op's own syscall entry, if its chain has one."""
        return next((f for f in self.fallback if f.kind == "syscall"), None)

    # --- for people --------------------------------------------------------------------
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


@dataclass
class HelperEntry:
    """A liburing helper that is not one op's prep (ops.yaml `helpers:`)."""
    name: str                   # sr_prep_NAME
    kind: str                   # generic (takes the opcode) | modifier (changes a prepared SQE)
    kernel: Version
    kernel_source: Optional[str]
    doc: str
    helper: Helper
    args: List[Arg]
    on: List[str]               # modifier: ops whose checked builder gets the setter
    setter: Optional[str]       # ... sr_OP_set_SETTER
    test_skip: Optional[str]
    loc: Loc

    @property
    def lifetime_summary(self):
        parts = []
        for a in self.args:
            if a.mem:
                what = {"copy": "copied at submit by the checked setter", "key": "raw pointer, caller-managed"}.get(
                    a.mem.kind, a.mem.kind)
                parts.append(f"{a.name}: {a.mem.lifetime_class} ({what})")
        return "; ".join(parts) if parts else "none"


@dataclass
class ModifierUse:
    """A modifier on one op: its arguments as that op's builder records them."""
    entry: HelperEntry
    args: List[Arg]


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
    headers: dict           # runtime | prep | api | fallback -> [Header], in #include order
    sources: List[str]
    enter_flags: List[FlagBit] = field(default_factory=list)
    helpers: List[HelperEntry] = field(default_factory=list)

    @property
    def liburing_helpers(self):
        """Every liburing helper the spec mirrors (ops, forms, helpers:), sorted."""
        names = set()
        for o in self.ops:
            names.update(h.name for h in [o.helper] + [f.helper for f in o.forms] if h.name)
        names.update(h.helper.name for h in self.helpers)
        return sorted(names)

    @property
    def ops_by_id(self):
        """The ops in SR_OP_* order (the op table's)."""
        return sorted(self.ops, key=lambda o: o.id)
