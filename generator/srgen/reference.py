# SPDX-License-Identifier: MIT
"""What the reference (generated/docs/ops.md and the man pages) says about
each op, worked out once from the model, the plan and the C spellings:

- every function and type the op generates, as prototypes (the same
  spellings as api.h and prep.h: `make check-man` compiles the man pages'
  synopses against the installed headers);
- each argument: how the checked API takes it and what it means;
- the lifetime of each piece of memory, the completion's fields, the
  fallback routes, the errors of each function, the pages to see.

Text is plain, with `code` spans: ops.md prints them as they are, the man
pages in bold (render.py's roff filters).  Nothing here is per-opcode: it
all follows from the spec's facts.
"""
import re
from dataclasses import dataclass, field
from typing import List, Optional

from . import cnames
from .cnames import _model


@dataclass
class Param:
    type: str       # "struct sr_buf *", "int"
    name: str

    @property
    def decl(self):
        return f"{self.type}{'' if self.type.endswith('*') else ' '}{self.name}"


@dataclass
class Func:
    ret: str
    name: str
    params: List[Param]
    what: str               # one line, for people

    @property
    def proto(self):
        params = ", ".join(p.decl for p in self.params) or "void"
        return f"{self.ret}{'' if self.ret.endswith('*') else ' '}{self.name}({params});"


@dataclass
class Member:
    type: str
    name: str
    what: str
    suffix: str = ""        # "[2]"

    @property
    def decl(self):
        return f"{self.type}{'' if self.type.endswith('*') else ' '}{self.name}{self.suffix};"


@dataclass
class Entry:
    """A term and its text: an argument, a piece of memory, an error code."""
    term: str
    text: str
    note: str = ""          # argument: its types; memory: the lifetime class


@dataclass
class Section:
    """A group of prototypes in a synopsis, with a comment naming it."""
    title: str
    lines: list             # Func, Member-holding Struct, or Typedef


@dataclass
class Struct:
    name: str               # "struct sr_read_completed"
    members: Optional[List[Member]]  # None: declared only (its fields are private)
    what: str = ""


@dataclass
class Typedef:
    name: str               # sr_read_cb
    params: List[Param]
    what: str

    @property
    def proto(self):
        return f"typedef void (*{self.name})({', '.join(p.decl for p in self.params)});"


@dataclass
class OpRef:
    name: str               # sr_read: the page
    ring: str               # the names of the ring and user_data parameters
    user_data: str
    names: List[str]        # every function the op generates, the page's NAME line
    summary: str
    synopsis: List[Section]
    functions: List[Func]
    callback: Typedef
    completed: Struct
    args: List[Entry]
    memory: List[Entry]
    completion: List[Entry]
    res: str
    routes: List[Entry]
    errors: dict            # function group -> [Entry]
    notes: List[str]
    example: List[str]
    see_also: List[str] = field(default_factory=list)   # "sr_submit(3)"


# What a completion's res is, by the spec's result kind.
RES = {
    "status": "0 on success, or a negative errno",
    "bytes": "the number of bytes transferred (0 at the end of a file or stream), or a negative errno",
    "fd": "the new file descriptor, or a negative errno",
    "slot": "the registered-file slot filled, or a negative errno",
    "count": "how many (see the op), or a negative errno",
    "mask": "the poll events that are ready (POLLIN, POLLOUT, ...), or a negative errno",
    "index": "the index of the entry that woke the op, or a negative errno",
    "value": "the value the command returns, or a negative errno",
}

# What the runtime does for each emulate: kind of the spec.
EMULATE = {
    "complete": "completes at once with res 0",
    "timer": "a timerfd on the fallback backend (a count of completions too)",
    "link_timer": "a timerfd on the fallback backend, bounding the op before it in the chain",
    "timer_remove": "removes a timer (a kernel one, or one the fallback backend runs)",
    "timer_update": "updates a timer (a kernel one, or one the fallback backend runs)",
    "poll": "an epoll watch on the fallback backend",
    "poll_remove": "removes a poll (a kernel one, or one the fallback backend runs)",
    "poll_update": "updates a poll (a kernel one, or one the fallback backend runs)",
    "cancel": "cancels the target, in the kernel or on the fallback backend",
    "fd_install": "installs the descriptor from the fallback ring's own file table",
}

LIFETIME = {
    "submit": "the kernel reads it only while it consumes the SQE",
    "completion": "the kernel uses it until the op completes",
    "notification": "zero-copy: the kernel may read it after the result, until the notification",
    "kernel_selected": "the kernel picks a buffer from a group when data arrives",
    "registration": "registered memory: the kernel uses it as long as it is registered",
    "none": "no memory: it names another op",
}


def _split(decl):
    """'struct sr_buf *const *iovecs' -> Param('struct sr_buf *const *', 'iovecs')."""
    m = re.fullmatch(r"(.*?)(\w+)", decl.strip())
    return Param(m.group(1).rstrip(), m.group(2))


def _free(name, taken):
    """name, or sr_name when an argument of the op already has it."""
    return name if name not in taken else "sr_" + name


class Reference:
    """The reference of every op of one run (render.py makes one per run)."""

    def __init__(self, spec, plan):
        self.spec = _model(spec)
        self.plan = _model(plan)
        self._ops = {}

    def op(self, o):
        o = _model(o)
        if o.name not in self._ops:
            self._ops[o.name] = _OpBuilder(o, self.spec, self.plan).build()
        return self._ops[o.name]

    def helper(self, h):
        """The prototype of a helper of ops.yaml `helpers:` (a generic one takes the opcode before the SQE)."""
        h = _model(h)
        params = [_split(cnames.decl(a.ctype, a.name)) for a in h.args]
        sqe = Param("struct io_uring_sqe *", "sqe")
        params = params[:1] + [sqe] + params[1:] if h.kind == "generic" else [sqe] + params
        return Func("void", f"sr_prep_{h.name}", params, f"write the SQE {h.helper.name} would write")


class _OpBuilder:
    def __init__(self, o, spec, plan):
        self.o, self.spec, self.plan = o, spec, plan
        self.T = cnames.api_name(o)
        taken = {a.name for a in o.all_args}
        self.ring = _free("ring", taken)
        self.opv = _free("op", taken)
        self.ud = _free("user_data", taken)

    # --- prototypes ----------------------------------------------------------------
    def functions(self):
        o, T = self.o, self.T
        t_op, t_sub, t_done = f"struct {T}_op", f"struct {T}_submitted", f"struct {T}_completed"
        ring = Param("struct sr_ring *", self.ring)
        opp = Param(f"{t_op} *", self.opv)
        sub = Param(f"{t_sub} *", "sub")
        done = Param(f"{t_done} *", "done")
        build = [Func(t_op, T, [_split(cnames.checked_decl(o, a, param=True)) for a in o.ctor_args],
                      "build the op (nothing is lent or queued yet)")]
        for a in o.setter_args:
            build.append(Func("void", f"{T}_set_{a.name}", [opp, _split(cnames.decl(a.ctype, a.name))],
                              f"set `{a.name}` (0 unless set)"))
        build.append(Func("int", f"{T}_set_sqe_flags", [opp, Param("unsigned", "flags")],
                          "IOSQE_IO_LINK, IOSQE_IO_HARDLINK, IOSQE_IO_DRAIN, IOSQE_ASYNC"))
        build.append(Func("void", f"{T}_set_personality", [opp, Param("uint16_t", "personality")],
                          "run with the credentials of a registered personality"))
        for mu in o.modifiers:
            build.append(Func("void", f"{T}_set_{mu.entry.setter}",
                              [opp] + [_split(cnames.checked_decl(o, a, param=True)) for a in mu.args],
                              f"as {mu.entry.helper.name}: {mu.entry.doc[0].lower()}{mu.entry.doc[1:].rstrip('.')}"))
        if o.provided and o.shape == "multishot" and not o.sends_group:
            build.append(Func("void", f"{T}_set_rearm_on_enobufs", [opp, Param("bool", "on")],
                              "pause the stream instead of ending it when the group runs dry"))
        if o.fd_arg:
            build.append(Func("void", f"{T}_set_file", [opp, Param("struct sr_file", "file")],
                              f"use a registered file as `{o.fd_arg.name}`"))
        submit = [
            Func("int", f"{T}_submit", [ring, opp, sub], "queue the op; its memory is lent from here"),
            Func("int", f"{T}_submit_cb", [ring, opp, Param(f"{T}_cb", "cb"), Param("void *", "arg"), sub],
                 "queue the op; its completion goes to cb"),
            Func("int", f"{T}_cancel", [ring, sub], "ask the kernel to cancel it"),
        ]
        complete = [
            Func("int", f"{T}_wait", [ring, sub, done],
                 "the next completion of the stream" if o.shape == "multishot" else "wait for the completion"),
            Func("int", f"{T}_poll", [ring, sub, done], "the same, without waiting (-EAGAIN)"),
        ]
        raw_params = [ring] + [_split(cnames.decl(a.ctype, a.name)) for a in o.args] + \
            [Param("__u64", self.ud)]
        raw = [Func("int", f"{T}_raw", raw_params, "queue the SQE untracked, with your user_data"),
               Func("void", cnames.prep_name(o),
                    [Param("struct io_uring_sqe *", "sqe")] + [_split(cnames.decl(a.ctype, a.name)) for a in o.args],
                    f"write the SQE {o.helper.name or 'the op'} would write" if o.helper.name
                    else "write the op's SQE")]
        for f in o.forms:
            raw.append(Func("void", cnames.form_prep_name(f),
                            [Param("struct io_uring_sqe *", "sqe")] +
                            [_split(cnames.decl(a.ctype, a.name)) for a in f.args],
                            f"write the SQE {f.helper.name} would write"))
        return build, submit, complete, raw

    def completed(self):
        o = self.o
        m = [Member("int32_t", "res", RES[o.result]),
             Member("uint32_t", "flags", "IORING_CQE_F_* flags of the CQE")]
        if o.shape == "multishot":
            m.append(Member("bool", "more", "the stream goes on: wait again for the next completion"))
        if o.shape == "notif":
            m.append(Member("uint32_t", "notif", "the res of the notification (IORING_NOTIF_USAGE_ZC_COPIED when "
                            "the kernel copied)"))
            m.append(Member("bool", "copied", "with IORING_SEND_ZC_REPORT_USAGE: the kernel copied the data "
                            "after all"))
        for a in o.buffers:
            m.append(Member("struct sr_buf *", a.name, f"`{a.name}`, yours again"))
        for a in o.results:
            d = cnames.result_decl(a)
            mm = re.fullmatch(r"(.*?)(\w+)(\[\d+\])?", d)
            m.append(Member(mm.group(1).rstrip(), mm.group(2),
                            f"what the kernel wrote through `{a.name}`", mm.group(3) or ""))
        for a in o.out_msghdrs:
            m.append(Member("int", "msg_flags", f"the MSG_* flags the kernel set in `{a.name}`"))
        for a in o.provided:
            if o.sends_group:
                m.append(Member("struct sr_buf *", "buf", "the first (oldest) of the queued buffers the kernel "
                                "took, or NULL"))
                m.append(Member("unsigned", "nbufs", "how many it took, in the order queued: yours again "
                                "(sr_bufgroup_queue(3))"))
            else:
                m.append(Member("struct sr_buf *", "buf", "the buffer the kernel picked from the group (NULL if "
                                "none): yours until sr_bufgroup_recycle()"))
        if o.installs:
            if o.direct.count > 1:
                m.append(Member("struct sr_file", "files", "the registered-file slots filled", f"[{o.direct.count}]"))
            else:
                m.append(Member("struct sr_file", "file", "the registered-file slot filled"))
        return Struct(f"struct {self.T}_completed", m)

    # --- arguments and memory ------------------------------------------------------
    def role(self, a):
        o, T = self.o, self.T
        if a in o.ctor_args:
            return ""
        if o.checked and a.derived_from is not None:
            src = a.derived_from
            how = {"len": "its length", "count": "the number of buffers",
                   "fixed": "its registered-buffer index"}.get(a.derived_as, a.derived_as)
            return f"not an argument of `{T}()`: the checked API takes {how} from `{src.name}` at submit"
        if a.checked_value is not None:
            why = f" ({a.checked_why})" if a.checked_why else ""
            return f"not an argument of `{T}()`: the checked API always passes {cnames.value(a.checked_value)}{why}"
        if o.checked_kind(a) == "result":
            return f"not an argument of `{T}()`: the kernel writes it into the op's storage, and it comes " \
                   f"back as `done.{a.name}`"
        if a in o.setter_args:
            return f"set with `{T}_set_{a.name}()`; 0 unless set"
        return ""

    def meaning(self, a):
        o, out = self.o, []
        if a.doc:
            out.append(a.doc.rstrip(".") + ".")
        if a.fd:
            what = {"file": "a file descriptor", "socket": "a socket", "any": "a file descriptor"}[o.fd_kind]
            out.append(f"{what[0].upper()}{what[1:]}, or a registered file given with `{self.T}_set_file()` "
                       "(its `struct sr_file`: a slot whose file changed since is refused).")
        if a.encode == "file_index":
            out.append("A slot of the ring's registered file table (sr_ring_register_files(3)), or "
                       "IORING_FILE_INDEX_ALLOC for any free one.")
        elif a.encode == "plus1":
            out.append("A slot of the ring's registered file table.")
        kind = o.checked_kind(a)
        mem = a.mem
        if mem and kind == "buffer":
            d = "the kernel writes into it" if mem.dir == "out" else "the kernel reads from it"
            n = "from the window's start to its capacity" if mem.dir == "out" else "its valid length"
            fixed = " It must be registered with the ring (sr_ring_register_buffers(3) or " \
                    "sr_ring_register_pool(3)); its index goes into the SQE." if mem.fixed else ""
            out.append(f"An owned buffer: {d}.  The kernel gets {n}, or the window of "
                       f"sr_buf_set_window(3).{fixed}")
        elif mem and kind == "bufvec":
            d = "written" if mem.dir == "out" else "read"
            fixed = "  All must be registered with the ring, from one registration." if mem.fixed else ""
            out.append(f"An array of `{mem.count.name}` owned buffers, {d} by the kernel in order; the iovec "
                       f"array is built in the op's storage at submit.{fixed}")
        elif mem and kind == "msghdr":
            d = "the kernel fills its buffers" if mem.dir == "out" else "the kernel reads its buffers"
            out.append(f"A message (`struct sr_msg`: owned buffers for the name, the control data and the "
                       f"payload); the msghdr is built in the op's storage at submit, and {d}.")
        elif mem and kind == "copy":
            out.append(f"Copied into the op's storage at submit ({self.size_text(a)}): your copy may change "
                       "or go away once the submit returns.")
        elif mem and kind == "result":
            out.append(f"An output of the kernel ({mem.ctype}).")
        elif mem and kind == "provided":
            out.append("A buffer group (sr_bufgroup_create(3)) of the ring: the kernel picks a buffer of it for "
                       "each completion.")
        elif mem and kind == "target":
            ops = [t for t in mem.of if t != "any"]
            which = "any op" if not ops or "any" in mem.of else " or ".join(ops)
            out.append(f"The handle of the op to act on ({which}): the `h` member of its submitted struct.  "
                       "A handle of another ring is refused (-EXDEV), one whose op was consumed too (-ESTALE).")
        elif mem and kind == "key":
            out.append("An address used as an identity; the kernel does not copy it: keep the memory mapped "
                       "until the op completes.")
        elif mem:
            out.append(f"A raw pointer ({LIFETIME.get(mem.lifetime_class, mem.lifetime_class)}): the caller keeps "
                       "the memory valid; the library does not track it.")
        if a.checked_forbid is not None and o.checked:
            out.append(f"The checked API refuses bits {cnames.value(a.checked_forbid)} in it"
                       f"{': ' + a.checked_why if a.checked_why else ''} (-EINVAL).")
        if not out:
            ref = o.helper.name + "(3)" if o.helper.name else "the io_uring opcode " + o.opcode.uapi
            sys = o.sys_fallback
            also = f" and {sys.syscall_name}(2)" if sys and sys.kind == "syscall" else ""
            out.append(f"As for {ref}{also}.")
        return " ".join(out)

    @staticmethod
    def size_text(a):
        mem, k = a.mem, a.mem.size
        if k.kind == "string":
            return "a NUL-terminated string"
        if k.kind == "sizeof":
            return f"one `{mem.ctype or a.ctype.base}`"
        if k.kind == "array":
            return f"`{k.arg.name}` elements"
        return f"`{k.arg.name}` bytes"

    def args(self):
        o, out = self.o, []
        for a in o.all_args:
            checked = cnames.checked_decl(o, a, param=True) if a in o.ctor_args else cnames.decl(a.ctype, a.name)
            raw = cnames.decl(a.ctype, a.name)
            note = f"`{_split(checked).type}`"
            if a in o.args and raw != checked:
                note += f"; raw: `{_split(raw).type}`"
            note += f"; `sqe->{a.field.name}`"
            role = self.role(a)
            text = self.meaning(a) + (f"  It is {role}." if role else "")
            out.append(Entry(a.name, text, note))
        return out

    def memory(self):
        o, T, out = self.o, self.T, []
        for a in o.mem_args:
            mem, kind = a.mem, o.checked_kind(a)
            cls = mem.lifetime_class
            life = LIFETIME.get(cls, cls)
            if kind == "buffer" and cls == "notification":
                how = ("The buffer is lent at submit; while lent its bytes are out of reach (`sr_buf_data()` returns NULL, "
                       "`sr_buf_free()` and another submit are refused with -EBUSY naming this op).  It comes "
                       "back with the notification, also when the send failed or was cancelled: the "
                       f"completion (`done.{a.name}`) is delivered only then.")
            elif kind in ("buffer", "bufvec", "msghdr"):
                what = {"buffer": "The buffer is", "bufvec": "Each buffer is",
                        "msghdr": "The message's buffers are"}[kind]
                back = f" in `done.{a.name}`" if kind == "buffer" else ""
                how = (f"{what} lent at submit; while lent its bytes are out of reach (`sr_buf_data()` returns "
                       "NULL, `sr_buf_free()` and another submit are refused with -EBUSY naming this op).  "
                       f"It comes back{back} with the completion, also when the op failed or was cancelled.")
            elif kind == "copy":
                how = "Copied at submit into the op's storage, which lives until the completion: nothing of " \
                      "yours is lent."
            elif kind == "result":
                how = f"The kernel writes into the op's storage; the completion copies it to `done.{a.name}`: " \
                      "there is no pointer of yours for the kernel to outlive."
            elif kind == "provided":
                how = ("Each completion that carries data hands you a buffer of the group (`done.buf`); it is "
                       "yours until you give it back with `sr_bufgroup_recycle()`.  The group cannot be "
                       "destroyed while buffers are out or an op can still pick from it (-EBUSY).")
            elif kind == "target":
                how = "Only the handle is copied; the op it names keeps its own memory."
            elif kind == "key":
                how = "Passed through as an address: keep it mapped until the op completes."
            else:
                how = "A raw pointer: not tracked; keep the memory valid as the lifetime says."
            note = f"  {mem.note[0].upper()}{mem.note[1:].rstrip('.')}." if mem.note else ""
            out.append(Entry(a.name, f"{life[0].upper()}{life[1:]}.  {how}{note}", cls))
        return out

    # --- completion, fallback, errors ------------------------------------------------
    def completion(self, done):
        o, out = self.o, []
        for m in done.members:
            out.append(Entry(m.name + m.suffix, m.what[0].upper() + m.what[1:] + ".", m.type))
        return out

    def routes(self):
        o, out = self.o, []
        for r in self.plan.routes[o.name]:
            if r.engine == "kernel":
                t = r.exec_op
                setup = f", on rings set up with {' and '.join(r.setup)}" if r.setup else ""
                how = {"rearm": "; a single-shot op re-armed after each completion stands for the stream",
                       "notif": "; the result and the notification still come as two completions"}.get(r.how, "")
                out.append(Entry(r.text, f"The op `{t.name}` ({t.opcode.uapi}, Linux {t.kernel}){setup}{how}.",
                                 "op"))
            elif r.engine == "syscall":
                wait = {"in": "; on a socket or pipe it first waits for readability in epoll, so no thread "
                              "waits", "out": "; on a socket or pipe it first waits for writability in epoll, "
                              "so no thread waits"}.get(r.sys.wait, "")
                kern = f" (the system call is Linux {r.sys.kernel}: where it is missing the route is not " \
                       "taken)" if r.sys.kernel else ""
                out.append(Entry(r.text, f"The system call on a worker thread of the fallback backend{wait}"
                                 f"{kern}.", "syscall"))
            elif r.engine == "emulate":
                what = EMULATE.get(r.emulate, r.emulate)
                out.append(Entry(r.text, f"The runtime does it: {what}.", "emulate"))
            else:
                out.append(Entry("none", f"No fallback: {r.text}; the submit fails with -EOPNOTSUPP saying so.",
                                 "none"))
        return out

    def errors(self):
        o, T = self.o, self.T
        perm = Entry("-EPERM", "The calling thread is not the ring's owner, the ring was released "
                     "(sr_ring_release(3)) and not acquired, or it was inherited across fork(); nothing is "
                     "queued or lent.")
        submit = [perm,
                  Entry("-EALREADY", f"This builder was already submitted: build a new one with `{T}()`."),
                  Entry("-EINVAL", self.einval_submit()),
                  Entry("-EBUSY", self.ebusy_submit())]
        xdev = []
        if any(a.mem.fixed for a in o.buffers + o.bufvecs + o.msghdrs):
            xdev.append("a fixed buffer registered with another ring")
        if o.provided:
            xdev.append("a buffer group of another ring")
        if o.targets:
            xdev.append("a target handle of another ring")
        if o.fd_arg:
            xdev.append("a registered file (`_set_file`) of another ring")
        if xdev:
            submit.append(Entry("-EXDEV", f"{'; '.join(xdev)[0].upper()}{'; '.join(xdev)[1:]} (or of a ring "
                                "destroyed since): it never matches anything here."))
        if o.targets:
            submit.append(Entry("-ESTALE", "The target op was already completed and consumed."))
        if o.fd_arg:
            submit.append(Entry("-EBADF", "The registered file given with `_set_file` is empty (from a failed "
                                "op), or its slot was closed, replaced or unregistered since, or the ring has "
                                "no file table."))
        submit += [
            Entry("-EOPNOTSUPP", self.enotsup()),
            Entry("-ENOMEM", "Out of memory for the op's storage, the callback's record or the fallback job; "
                  "nothing was lent or queued."),
            Entry("-ESHUTDOWN", "The ring is being destroyed (sr_ring_destroy_timeout(3) gave up with it "
                  "closing)."),
        ]
        handle = "-EINVAL", ("The handle is not from a successful submit on this ring (zeroed, or from a "
                             "failed submit), is another op's, or its op delivers to a callback (run the ring "
                             "instead).")
        wait = [perm,
                Entry("-EXDEV", "The handle belongs to another ring, or to one destroyed since."),
                Entry("-ESTALE", "The handle's op was already completed and consumed: each op is waited (or "
                      "polled to completion) once" + ("; a stream's last completion is the one with `more` "
                                                       "false" if o.shape == "multishot" else "") + "."),
                Entry(*handle),
                Entry("-EAGAIN", f"`{T}_poll()` only: no completion is ready yet."),
                Entry("-EINTR", "A signal interrupted the wait; the op is still in flight: wait again."),
                Entry("-ENOMEM", "A completion could not be recorded for want of memory; it stays in the "
                      "kernel's queue: free memory and wait again.")]
        cancel = [perm,
                  Entry("-EXDEV", "The handle belongs to another ring."),
                  Entry("-ESTALE", "The op was already completed and consumed."),
                  Entry(*handle),
                  Entry("-EBUSY", "No room in the SQ for the cancel request.")]
        raw = [perm,
               Entry("-EOPNOTSUPP", f"The ring cannot run `{o.name}` natively (an older kernel, SR_DISABLE, a "
                     "ring without io_uring): untracked ops take no fallback."),
               Entry("-EBUSY", "The SQ is full: submit what is queued (sr_ring_submit(3)) and try again.")]
        flags = [Entry("-EINVAL", "Flags other than IOSQE_IO_LINK, IOSQE_IO_HARDLINK, IOSQE_IO_DRAIN and "
                       "IOSQE_ASYNC: fixed files, buffer selection and skipped CQEs have typed paths.")]
        return {"submit": submit, "wait": wait, "cancel": cancel, "raw": raw, "set_sqe_flags": flags}

    def einval_submit(self):
        o, T = self.o, self.T
        why = [f"the builder was not made by `{T}()` (uninitialized or corrupted)"]
        if o.buffers or o.bufvecs or o.msghdrs:
            why.append("a buffer is NULL, freed, back in its pool, or read-only "
                       "(sr_buf_wrap_const(3)) where the kernel writes")
        if o.bufvecs:
            why.append("more buffers than IOV_MAX, none, or one twice")
        if o.msghdrs:
            why.append("a NULL message, more than SR_MSG_MAX_IOV data buffers, or a buffer twice")
        if any(a.mem.fixed for a in o.buffers + o.bufvecs + o.msghdrs):
            why.append("a fixed buffer not registered with this ring, or buffers of different registrations")
        if o.provided:
            why.append("not a live buffer group")
        if o.targets:
            why.append("a target handle not from a submit on this ring")
        for a in o.forbids:
            why.append(f"`{a.arg.name}` has bits {cnames.value(a.value)} set")
        return "; ".join(why)[0].upper() + "; ".join(why)[1:] + "."

    def ebusy_submit(self):
        o = self.o
        why = []
        if o.buffers or o.bufvecs or o.msghdrs:
            why.append("a buffer is lent to another op (the message names it)")
        why.append("the SQ is full and the ring was created with SR_RING_SQ_NOFLUSH")
        why.append("`max_inflight` ops are in flight")
        why.append("inside a chain, the chain does not fit the SQ (sr_chain_begin(3))")
        return "; ".join(why)[0].upper() + "; ".join(why)[1:] + "."

    def enotsup(self):
        o = self.o
        none = [f for f in o.fallback if f.kind == "none"]
        text = (f"The ring cannot run `{o.name}` natively (it needs Linux {o.kernel}"
                f"{', a ring set up with ' + ' or '.join(o.requires_setup) if o.requires_setup else ''}; or "
                "SR_DISABLE, or a ring without io_uring) and the policy is SR_POLICY_STRICT, or no fallback "
                "route works on this ring")
        if none:
            text += f" (\"{none[0].text}\")"
        text += "; also when a fallback route cannot honour a personality or a registered file.  The message " \
                "names the kernel needed and the kernel running."
        return text

    # --- the rest ----------------------------------------------------------------------
    def summary(self):
        d = self.o.doc.strip()
        return d[:-1] if d.endswith(".") else d

    def notes(self):
        o, out = self.o, []
        if not o.checked:
            out.append(f"Its typed API takes raw pointers too ({o.raw_pointers}): nothing of its memory is lent, "
                       "copied or checked.")
        if o.requires_setup:
            out.append(f"Runs only on rings set up with {' or '.join(o.requires_setup)} (see "
                       "sr_ring_create(3)); elsewhere it takes its fallback.")
        if o.checked and o.out_buffers:
            out.append(f"In C, `{self.T}()` is also a macro that makes a const buffer a compile error: the "
                       "kernel writes into it.")
        if o.test_skip:
            out.append(f"The conformance suite skips its live round trip: {o.test_skip}.")
        return out

    def example(self, build, submit, complete):
        o, T = self.o, self.T
        ctor = build[0]
        args = ", ".join(p.name for p in ctor.params)
        lines = [f"struct {T}_op {self.opv} = {T}({args});",
                 f"struct {T}_submitted sub;",
                 f"struct {T}_completed done;",
                 f"int ret = {T}_submit({self.ring}, &{self.opv}, &sub);",
                 ""]
        if o.shape == "multishot":
            lines += ["if (ret == 0) {",
                      "\tdo {",
                      f"\t\tret = {T}_wait({self.ring}, &sub, &done);",
                      "\t\tif (ret < 0)",
                      "\t\t\tbreak;",
                      "\t\t/* done.res: one completion of the stream */",
                      "\t} while (done.more);",
                      "}"]
        else:
            lines += ["if (ret == 0)",
                      f"\tret = {T}_wait({self.ring}, &sub, &done);",
                      "if (ret < 0)",
                      "\tfprintf(stderr, \"%s\\n\", sr_last_error());",
                      "else if (done.res < 0)",
                      "\tfprintf(stderr, \"" + o.name + ": %s\\n\", strerror(-done.res));"]
        return lines

    def see_also(self):
        o, out = self.o, []
        out += ["sr_submit(3)", "sr_ring_create(3)", "sr_ring_run(3)"]
        if o.buffers or o.bufvecs or o.msghdrs:
            out.append("sr_buf_alloc(3)")
        if any(a.mem.fixed for a in o.buffers + o.bufvecs + o.msghdrs):
            out.append("sr_ring_register_buffers(3)")
        if o.provided:
            out.append("sr_bufgroup_create(3)")
        if o.fd_arg or o.direct:
            out.append("sr_ring_register_files(3)")
        out += [f"sr_prep_{mu.entry.name}(3)" for mu in o.modifiers]
        out += ["sr_chain_begin(3)", "sr_op_status(3)", "sr_raw_reap(3)"]
        family = [o.parent or o] + (o.parent or o).variants
        related = [x for x in family if x is not o]
        for f in o.fallback:
            if f.kind == "op" and f.target_op not in related:
                related.append(f.target_op)
        for t in o.target_ops:
            t_op = next((x for x in self.spec.ops if x.name == t), None)
            if t_op and t_op not in related and t_op is not o:
                related.append(t_op)
        out += [f"{cnames.api_name(x)}(3)" for x in related]
        out.append("safer-ring(7)")
        if o.helper.name:
            out.append(f"{o.helper.name}(3)")
        sys = o.sys_fallback
        if sys and re.fullmatch(r"[a-z_][a-z0-9_]*", sys.syscall_name):
            out.append(f"{sys.syscall_name}(2)")
        seen, uniq = set(), []
        for x in out:
            if x not in seen:
                seen.add(x)
                uniq.append(x)
        return uniq

    def build(self):
        o, T = self.o, self.T
        build, submit, complete, raw = self.functions()
        done = self.completed()
        cb = Typedef(f"{T}_cb", [Param("struct sr_ring *", self.ring), Param(f"struct {T}_completed *", "done"),
                                 Param("void *", "arg")], "the callback of `_submit_cb`")
        synopsis = [
            Section("Building", [Struct(f"struct {T}_op", None)] + build),
            Section("Submitted", [Struct(f"struct {T}_submitted", [Member("struct sr_handle", "h", "")]), cb]
                    + submit),
            Section("Completed", [done] + complete),
            Section("Untracked", raw),
        ]
        functions = build + submit + complete + raw
        return OpRef(name=T, ring=self.ring, user_data=self.ud, names=[f.name for f in functions], summary=self.summary(), synopsis=synopsis,
                     functions=functions, callback=cb, completed=done, args=self.args(), memory=self.memory(),
                     completion=self.completion(done), res=RES[o.result], routes=self.routes(),
                     errors=self.errors(), notes=self.notes(), example=self.example(build, submit, complete),
                     see_also=self.see_also())
