# SPDX-License-Identifier: MIT
"""Test plans for the generated SQE conformance test.

For each op the plan picks sample argument values that are distinct (so a
value landing in the wrong field shows), valid for the checked API (real
strings, real structs, owned buffers wrapping the sample memory), and
consistent between the two APIs (a buffer of capacity 256 stands for
`buf, 256` in the raw call).  The C test then compares
  - sr_prep_NAME against liburing's helper (when the installed 2.3 has it),
  - sr_prep_NAME against the oracle row (spec/oracle/*.tsv),
  - the checked builder's submitted SQE against the same reference, after
    replacing pointers into op storage with the originals (their contents
    are compared first).
"""
from dataclasses import dataclass, field
from typing import List, Optional

from . import cnames

BUF_CAP = 256
BUF_LEN = 128


@dataclass
class Fixup:
    """A field of the checked SQE that must differ from the raw one in a known way."""
    field: object
    check: Optional[str]      # C boolean over `p` (the pointer found in the field), or None
    value: str                # C expression for what the reference holds there
    what: str


@dataclass
class Block:
    """One prep function (the op's own or a form's) checked against its references."""
    label: str
    prep: str                 # sr_prep_NAME
    helper: object            # model.Helper: liburing's, compared where installed
    argv: List[str]           # the C variables holding the sample arguments
    want: Optional[List[str]]  # statements writing the oracle row into `want`, or None

    def call(self, fn, sqe):
        """fn(sqe, sample arguments...)."""
        return f"{fn}({', '.join([sqe] + self.argv)})"


@dataclass
class Plan:
    op: object
    decls: List[str] = field(default_factory=list)        # raw sample values
    form_vars: List[dict] = field(default_factory=list)   # per form: arg name -> C variable
    checked_setup: List[str] = field(default_factory=list)
    checked_ctor: Optional[str] = None
    checked_setters: List[str] = field(default_factory=list)
    fixups: List[Fixup] = field(default_factory=list)
    overrides: List[str] = field(default_factory=list)    # C statements applied to the checked reference
    cleanup: List[str] = field(default_factory=list)
    needs_group: bool = False
    needs_send_group: bool = False
    needs_target: bool = False
    blocks: List[Block] = field(default_factory=list)
    ref_mods: List[str] = field(default_factory=list)     # modifiers applied to the checked reference

    def call_args(self, args):
        return ", ".join(f"v_{a.name}" for a in args)


def _int_sample(a, k):
    t = a.ctype
    if a.encode == "file_index" or a.encode == "plus1":
        return str(3 + k)
    if t.size == 2:
        return str(0x30 + k)
    if t.size == 8:
        return f"0x11223344{0x10 + k:02x}ULL" if not t.signed else f"0x3300{0x10 + k:02x}LL"
    if t.c == "mode_t":
        return "0644"
    if a.truncate:
        return str(0x200 + k)
    return str(0x100 + k) if not t.signed else str(0x10 + k)


@dataclass
class HelperPlan:
    """The SQE test of a helpers: entry: sr_prep_NAME against liburing's and the oracle row."""
    h: object
    decls: List[str]
    argv: List[str]
    want: Optional[List[str]]     # statements writing the oracle row into `want`, or None
    base: str                     # the byte a modifier's SQE starts from (0 for a generic prep)


def helper_plan(h, spec, oracle):
    """Sample values for h's arguments; a modifier works on an SQE holding a pattern,
    so writing a field it should not shows."""
    decls, sizes, k = [], {}, 0
    for a in h.args:
        if a.mem and a.mem.kind == "copy" and a.mem.size and a.mem.size.kind == "arg":
            sizes[a.mem.size.arg.name] = f"sizeof(o_{a.name})"
    for a in h.args:
        k += 1
        decls += _sample(a, k, sizes, "sample/" + h.name)
    base = "0" if h.kind == "generic" else "0x5a"
    row = oracle.expected_helper(h, spec)
    want = None
    if row is not None:
        want = [f"memset(&want, {base}, sizeof(want));"] + [cnames.cast_put(f, e, is_or, "&want") for f, e, is_or in row]
    return HelperPlan(h, decls, [f"v_{a.name}" for a in h.args], want, base)


def _sample(a, k, sizes, label):
    """Declarations of the sample value v_NAME of argument a."""
    t, m = a.ctype, a.mem
    if a.name in sizes:
        return [f"{t.c} v_{a.name} = ({t.c}){sizes[a.name]};"]
    if not t.is_ptr:
        return [f"{t.c} v_{a.name} = ({t.c}){_int_sample(a, k)};"]
    if m and m.kind == "copy" and m.size and m.size.kind == "string":
        return [f'static const char s_{a.name}[] = "{label}/{a.name}";', f"{t.c}v_{a.name} = ({t.c})s_{a.name};"]
    if m and m.kind == "copy" and not t.points_to_bytes:
        return [f"static {cnames.pointee_c(t)} o_{a.name};", f"memset(&o_{a.name}, 0x5a, sizeof(o_{a.name}));",
                f"{t.c}v_{a.name} = ({t.c})&o_{a.name};"]
    return [f"{t.c}v_{a.name} = ({t.c})SMEM({k});"]


def plan(op, spec, oracle):
    p = _plan(op)
    p.blocks = [_block(op, op.name, cnames.prep_name(op), op.helper, op.args, {}, spec, oracle)]
    for f, fvars in zip(op.forms, p.form_vars):
        name = cnames.form_prep_name(f)
        p.blocks.append(_block(op, name, name, f.helper, f.args, fvars, spec, oracle))
    return p


def _block(op, label, prep, helper, args, fvars, spec, oracle):
    row = oracle.expected(op, args, helper.name, spec, fvars)
    want = None if row is None else [cnames.cast_put(f, e, is_or, "&want") for f, e, is_or in row]
    return Block(label, prep, helper, [fvars.get(a.name, f"v_{a.name}") for a in args], want)


def _plan(op):
    p = Plan(op)
    sizes = {}     # args whose sample value another argument's sample decides
    for a in op.all_args:
        m = a.mem
        if not m:
            continue
        if m.kind == "buffer":
            n = f"{BUF_CAP if m.dir == 'out' else BUF_LEN}"
            if m.len:
                sizes[m.len.name] = f"({n} / sizeof({m.unit}))" if m.unit else n
            if m.fixed:
                sizes[m.fixed.name] = "3"
        elif m.kind == "bufvec":
            sizes[m.count.name] = "2"
            if m.fixed:
                sizes[m.fixed.name] = "3"
        elif m.kind == "msghdr" and m.fixed:
            sizes[m.fixed.name] = "3"
        elif m.kind == "copy" and m.size and m.size.kind == "arg":
            sizes[m.size.arg.name] = "sizeof(o_%s)" % a.name if not a.ctype.points_to_bytes else f"sizeof(s_{a.name}) - 1"
        elif m.kind == "copy" and m.size and m.size.kind == "array":
            sizes[m.size.arg.name] = "3"
    k = 0
    for a in op.args:
        k += 1
        m = a.mem
        t = a.ctype
        if a.name in sizes:
            p.decls.append(f"{t.c} v_{a.name} = ({t.c}){sizes[a.name]};")
            continue
        if not t.is_ptr:
            p.decls.append(f"{t.c} v_{a.name} = ({t.c}){_int_sample(a, k)};")
            continue
        kind = m.kind if m else None
        if kind == "copy" and m.size.kind == "string":
            p.decls.append(f'static const char s_{a.name}[] = "sample/{op.name}/{a.name}";')
            p.decls.append(f"{t.c}v_{a.name} = ({t.c})s_{a.name};")
        elif kind == "copy" and t.points_to_bytes:
            p.decls.append(f'static const char s_{a.name}[] = "sample-{a.name}-value";')
            p.decls.append(f"{t.c}v_{a.name} = ({t.c})s_{a.name};")
        elif kind == "copy" and m.size.kind == "array":
            p.decls.append(f"static {cnames.pointee_c(t)} o_{a.name}[3];")
            p.decls.append(f"memset(o_{a.name}, 0x5a, sizeof(o_{a.name}));")
            p.decls.append(f"{t.c}v_{a.name} = ({t.c})o_{a.name};")
        elif kind == "copy":
            p.decls.append(f"static {cnames.pointee_c(t)} o_{a.name};")
            p.decls.append(f"memset(&o_{a.name}, 0x5a, sizeof(o_{a.name}));")
            p.decls.append(f"{t.c}v_{a.name} = ({t.c})&o_{a.name};")
        elif kind == "bufvec":
            p.decls.append(f"struct iovec iov_{a.name}[2] = {{ {{ SMEM({k}), {_io_len(m)} }}, {{ SMEM({k + 1}), {_io_len(m)} }} }};")
            p.decls.append(f"{t.c}v_{a.name} = iov_{a.name};")
            k += 1
        elif kind == "msghdr":
            p.decls.append(f"static struct msghdr m_{a.name};")
            p.decls.append(f"{t.c}v_{a.name} = &m_{a.name};")
        else:
            p.decls.append(f"{t.c}v_{a.name} = ({t.c})SMEM({k});")
    # Forms may add arguments, or redefine one with another type.
    p.form_vars = []
    for fi, f in enumerate(op.forms):
        names = {}
        for a in f.args:
            if a in op.args:
                names[a.name] = f"v_{a.name}"
                continue
            k += 1
            var = f"f{fi}_{a.name}"
            names[a.name] = var
            t = a.ctype
            if t.is_ptr:
                p.decls.append(f"{t.c}{var} = ({t.c})SMEM({k});")
            else:
                p.decls.append(f"{t.c} {var} = ({t.c}){_int_sample(a, k)};")
        p.form_vars.append(names)
    if not op.checked:
        # Raw-pointer ops: the checked builder takes the same values.
        p.checked_ctor = f"{cnames.api_name(op)}({', '.join('v_' + a.name for a in op.ctor_args)})"
        p.checked_setters = [f"{cnames.setter_name(op, a)}(&op, v_{a.name});" for a in op.setter_args if a in op.args]
        return p
    # Checked API: owned objects standing for the raw samples.
    ctor = []
    for a in op.ctor_args:
        m = a.mem
        kind = m.kind if m else None
        if kind == "buffer":
            p.checked_setup.append(f"struct sr_buf *b_{a.name} = sr_buf_wrap((void *)v_{a.name}, {BUF_CAP}, {BUF_LEN});")
            if m.fixed:
                p.checked_setup.append(f"fake_register(b_{a.name}, ring, 3);")
            p.cleanup.append(f"unfake_register(b_{a.name}); CU_ASSERT_EQUAL(sr_buf_free(b_{a.name}), 0);")
            ctor.append(f"b_{a.name}")
        elif kind == "bufvec":
            p.checked_setup.append(f"struct sr_buf *bv_{a.name}[2];")
            p.checked_setup.append(f"for (int i = 0; i < 2; i++) bv_{a.name}[i] = sr_buf_wrap(iov_{a.name}[i].iov_base, {BUF_CAP}, {BUF_LEN});")
            if m.fixed:
                p.checked_setup.append(f"for (int i = 0; i < 2; i++) fake_register(bv_{a.name}[i], ring, 3);")
            p.cleanup.append(f"for (int i = 0; i < 2; i++) {{ unfake_register(bv_{a.name}[i]); CU_ASSERT_EQUAL(sr_buf_free(bv_{a.name}[i]), 0); }}")
            ctor.append(f"bv_{a.name}")
            p.fixups.append(Fixup(a.field, f"memcmp(p, iov_{a.name}, sizeof(iov_{a.name})) == 0",
                                  f"(__u64)(uintptr_t)v_{a.name}", "iovec array"))
        elif kind == "copy":
            if m.size.kind == "string":
                sz = f"strlen(v_{a.name}) + 1"
            elif m.size.kind == "sizeof":
                sz = f"sizeof(*v_{a.name})"
            elif m.size.kind == "array":
                sz = f"(size_t)v_{m.size.arg.name} * sizeof(*v_{a.name})"
            else:
                sz = f"(size_t)v_{m.size.arg.name}"
            p.fixups.append(Fixup(a.field, f"p != (const void *)v_{a.name} && memcmp(p, v_{a.name}, {sz}) == 0",
                                  f"(__u64)(uintptr_t)v_{a.name}", "copy in op storage"))
            ctor.append(f"v_{a.name}")
        elif kind == "msghdr":
            p.checked_setup.append(f"struct sr_buf *mb_{a.name} = sr_buf_wrap(SMEM(20), {BUF_CAP}, {BUF_LEN});")
            p.checked_setup.append(f"struct sr_msg sm_{a.name};")
            p.checked_setup.append(f"memset(&sm_{a.name}, 0, sizeof(sm_{a.name}));")
            p.checked_setup.append(f"sm_{a.name}.iov[0] = mb_{a.name};")
            p.checked_setup.append(f"sm_{a.name}.iovlen = 1;")
            if m.fixed:
                p.checked_setup.append(f"fake_register(mb_{a.name}, ring, 3);")
                p.cleanup.append(f"unfake_register(mb_{a.name});")
            p.cleanup.append(f"CU_ASSERT_EQUAL(sr_buf_free(mb_{a.name}), 0);")
            p.fixups.append(Fixup(a.field, "((const struct msghdr *)p)->msg_iovlen == 1",
                                  f"(__u64)(uintptr_t)v_{a.name}", "msghdr in op storage"))
            ctor.append(f"&sm_{a.name}")
        elif kind == "provided":
            if m.dir == "in":
                p.needs_send_group = True
            else:
                p.needs_group = True
            ctor.append("group")
            p.overrides.append(f"sr__sqe_put16(&want, {cnames.field_macro(a.field)}, (__u16)sr__group_id(group));")
            p.overrides.append("want.flags |= SR_IOSQE_BUFFER_SELECT;")
        elif kind == "target":
            p.needs_target = True
            ctor.append("target")
        else:
            ctor.append(f"v_{a.name}")
    p.checked_ctor = f"{cnames.api_name(op)}({', '.join(ctor)})"
    for a in op.setter_args:
        if a in op.args:
            p.checked_setters.append(f"{cnames.setter_name(op, a)}(&op, v_{a.name});")
    # Modifiers with a setter here: the setter on the checked builder, the
    # modifier's prep on the reference.
    sizes = {}
    for mu in op.modifiers:
        for a in mu.args:
            if a.mem and a.mem.kind == "copy" and a.mem.size and a.mem.size.kind == "arg":
                sizes[a.mem.size.arg.name] = f"sizeof(o_{a.name})"
    for mu in op.modifiers:
        names = []
        for a in mu.args:
            k += 1
            p.decls += _sample(a, k, sizes, f"sample/{op.name}")
            names.append(f"v_{a.name}")
            if a.mem and a.mem.kind == "copy":
                p.fixups.append(Fixup(a.field, f"p != (const void *)v_{a.name} && memcmp(p, v_{a.name}, "
                                      f"sizeof(o_{a.name})) == 0", f"(__u64)(uintptr_t)v_{a.name}", "copy in op storage"))
        p.checked_setters.append(f"sr_{op.name}_set_{mu.entry.setter}(&op, {', '.join(names)});")
        p.ref_mods.append(f"sr_prep_{mu.entry.name}(&ref, {', '.join(names)});")
    for a in op.args:
        if a.checked_value is not None:
            f = a.field
            p.overrides.append(f"sr__sqe_put{f.bits}(&want, {cnames.field_macro(f)}, "
                               f"(__u{f.bits})({cnames.value(a.checked_value)}));")
        if a.checked_or is not None:
            f = a.field
            p.overrides.append(f"sr__sqe_or{f.bits}(&want, {cnames.field_macro(f)}, "
                               f"(__u{f.bits})({cnames.value(a.checked_or)}));")
        if a.mem and a.mem.kind == "result":
            chk = f"*(const {a.mem.ctype} *)p == {a.mem.init}" if a.mem.init else None
            p.fixups.append(Fixup(a.field, chk, f"(__u64)(uintptr_t)v_{a.name}", "result in op storage"))
        if a.mem and a.mem.kind == "target":
            pass
    # Targets: the reference was built with the sample; the checked op names a live op.
    for a in op.targets:
        f = a.field
        p.overrides.append(f"sr__sqe_put{f.bits}(&want, {cnames.field_macro(f)}, target_ud);")
    # or-sets on a field a checked value overwrote must be re-applied.
    for s in op.sets:
        if s.is_or and any(a.checked_value is not None and a.field.span == s.field.span for a in op.args):
            p.overrides.append(f"sr__sqe_or{s.field.bits}(&want, {cnames.field_macro(s.field)}, "
                               f"(__u{s.field.bits})({cnames.value(s.value)}));")
    return p


def _io_len(m):
    return BUF_CAP if m.dir == "out" else BUF_LEN
