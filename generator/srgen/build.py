# SPDX-License-Identifier: MIT
"""Spec nodes -> the model, with every semantic check.

The schema (schema.py) has already checked each node's shape; this stage
checks meaning.  ring.yaml comes first (SQE fields, C types, constants,
flags, the setup ladder, register operations), then each op entry
(build_op.py), then what only all ops together can show: unique names,
helpers and prep functions, dense opcode numbers, kernel order along the
opcode enum, fallback targets and loops, target lists.  Every error is
raised at the node at fault, so it reads FILE:LINE:COL.
"""
from . import cnames
from .build_op import OpBuilder
from .errors import SpecError
from .model import (MORE_WHILE, Constant, CType, FlagBit, RegisterOp, Spec, SqeField, Version)

# SR_OP__COUNT < 0xff: the runtime marks its own user_data with op 0xff.
MAX_OPS = 0xff


class Tables:
    """ring.yaml, checked: what op entries refer to by name."""

    def __init__(self, ring):
        self.fields = {}
        self.types = {}
        self.constants = {}
        self._sqe_fields(ring["sqe_fields"])
        self._types(ring["types"])
        for n in ring["constants"].value:
            name = n["name"].value
            if name in self.constants:
                raise SpecError(n["name"].loc, f"constant '{name}' defined twice")
            self.constants[name] = Constant(name, n["value"].value, version(n["kernel"]), n.loc)
        self.sqe_flags = _flags(ring["sqe_flags"], 8)
        self.cqe_flags = _flags(ring["cqe_flags"], 32)
        self.features = _flags(ring["features"], 32)
        self.setup_flags = _flags(ring["setup_flags"], 32)
        self.setup_by_name = {f.name: f for f in self.setup_flags}
        for f in self.setup_flags:
            for ref in f.requires + f.requires_any + f.conflicts:
                if ref not in self.setup_by_name:
                    raise SpecError(f.loc, f"{f.name} refers to unknown setup flag '{ref}'")
        self.ladder = self._ladder(ring["setup_ladder"])
        self.register_ops = self._register_ops(ring["register_ops"])

    def _sqe_fields(self, node):
        for n in node.value:
            name = n["name"].value
            if name in self.fields:
                raise SpecError(n["name"].loc, f"SQE field '{name}' defined twice")
            f = SqeField(name, n["offset"].value, n["size"].value,
                         bool(n.get("signed") and n["signed"].value), version(n["liburing"]), n.loc)
            if f.size not in (1, 2, 4, 8) or f.offset % f.size or f.offset + f.size > 64:
                raise SpecError(n.loc, f"SQE field '{name}': {f.size} bytes at offset {f.offset} "
                                "is not a naturally aligned 1/2/4/8-byte member of the 64-byte SQE")
            self.fields[name] = f

    def _types(self, node):
        for n in node.value:
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

    def _ladder(self, node):
        ladder = []
        rungs = node.value
        for rung in rungs:
            flags = []
            for n in rung.value:
                if n.value not in self.setup_by_name:
                    raise SpecError(n.loc, f"setup_ladder: unknown setup flag '{n.value}'")
                flags.append(self.setup_by_name[n.value])
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
            ladder.append(flags)
        if not rungs or rungs[-1].value:
            raise SpecError(node.loc, "setup_ladder must end with an empty rung [] (plain setup)")
        return ladder

    def _register_ops(self, node):
        out, seen = [], {}
        for n in node.value:
            op = RegisterOp(n["name"].value, n["code"].value, version(n["kernel"]),
                            n["kernel_note"].value if "kernel_note" in n else None,
                            n["doc"].value if "doc" in n else None, n.loc)
            if op.code in seen:
                raise SpecError(n["code"].loc, f"register op code {op.code} used twice ({seen[op.code]} and {op.name})")
            seen[op.code] = op.name
            out.append(op)
        return out

    def constant(self, name):
        """A constant or flag by its spec name, or None."""
        if name in self.constants:
            return self.constants[name]
        for f in self.sqe_flags + self.setup_flags + self.cqe_flags:
            if f.name == name:
                return f
        return None


def version(node):
    return Version.parse(node.value)


def _flags(node, width):
    out, bits = [], {}
    for n in node.value:
        name, bit = n["name"].value, n["bit"].value
        if not 0 <= bit < width:
            raise SpecError(n["bit"].loc, f"{name}: bit {bit} does not fit a {width}-bit flag word")
        if bit in bits:
            raise SpecError(n["bit"].loc, f"{name}: bit {bit} already used by {bits[bit]}")
        bits[bit] = name
        lst = lambda k: [x.value for x in n[k].value] if k in n else []  # noqa: E731
        out.append(FlagBit(name, bit, version(n["kernel"]),
                           n["doc"].value if "doc" in n else "",
                           bool(n["user"].value) if "user" in n else True,
                           n["kernel_note"].value if "kernel_note" in n else None,
                           lst("requires"), lst("requires_any"), lst("conflicts"), n.loc))
    return out


def build(ring_node, ops_node, sources):
    """The checked model of spec/ring.yaml and spec/ops.yaml."""
    tables = Tables(ring_node)
    ops, opcodes = _ops(ops_node, OpBuilder(tables))
    return Spec(ops=ops, opcodes=opcodes, sqe_fields=list(tables.fields.values()),
                types=list(tables.types.values()), constants=list(tables.constants.values()),
                sqe_flags=tables.sqe_flags, cqe_flags=tables.cqe_flags,
                setup_flags=tables.setup_flags, ladder=tables.ladder, features=tables.features,
                register_ops=tables.register_ops, sources=sources)


def _ops(ops_node, ob):
    ops, by_name, by_number, helpers, opcodes = [], {}, {}, {}, []
    for n in ops_node["ops"].value:
        base = ob.op(n, None)
        if base.opcode.number in by_number:
            raise SpecError(n["opcode"].loc, f"opcode {base.opcode.number} is already '{by_number[base.opcode.number]}'")
        by_number[base.opcode.number] = base.name
        opcodes.append(base.opcode)
        family = [base] + [ob.op(v, base) for v in (n["variants"].value if "variants" in n else [])]
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
        for pname, loc in [(cnames.prep_name(o), o.loc)] + [(cnames.form_prep_name(f), f.loc) for f in o.forms]:
            if pname in preps:
                raise SpecError(loc, f"{pname} would be generated twice", f"also from {preps[pname]}; give the form a name:")
            preps[pname] = loc
    # Opcodes: upstream's enum is dense and append-only.
    missing = _first_gap(by_number)
    if missing is not None:
        after = min((oc for oc in opcodes if oc.number > missing), key=lambda oc: oc.number)
        raise SpecError(after.loc, f"opcode {missing} is missing: the enum is dense from 0, "
                        f"and {after.base.name} has {after.number}")
    _check_ids(ops)
    prev = None
    for oc in sorted(opcodes, key=lambda o: o.number):
        b = oc.base
        if prev and b.kernel < prev.kernel:
            raise SpecError(b.loc, f"{b.name} (opcode {oc.number}) says Linux {b.kernel}, older than "
                            f"{prev.name} (opcode {prev.opcode.number}, Linux {prev.kernel})",
                            "the opcode enum is append-only, so a higher number cannot be older")
        prev = b
    opcodes.sort(key=lambda o: o.number)
    _link_fallbacks(ops, by_name)
    _check_chains(ops, by_name)
    return ops, opcodes


def _first_gap(numbers):
    """The smallest number missing from 0..max, or None."""
    have = set(numbers)
    return next((i for i in range(len(have) + 1) if i not in have and i < max(have, default=-1)), None)


def _check_ids(ops):
    """Op ids (SR_OP_*) are the ABI: each op carries its own, so adding ops or
    variants anywhere leaves the others' alone; they run from 0 without gaps
    (the op table is indexed by them)."""
    by_id = {}
    for o in ops:
        if not 0 <= o.id < MAX_OPS:
            raise SpecError(o.id_loc, f"{o.name}: op id {o.id} is out of range (0..{MAX_OPS - 1})")
        if o.id in by_id:
            free = min(set(range(len(ops))) - {x.id for x in ops})
            raise SpecError(o.id_loc, f"{o.name}: op id {o.id} is already {by_id[o.id].name}'s",
                            f"ids never change once given; a new op takes a free one: {free}")
        by_id[o.id] = o
    missing = _first_gap(by_id)
    if missing is not None:
        after = min((o for o in ops if o.id > missing), key=lambda o: o.id)
        raise SpecError(after.id_loc, f"{after.name}: op id {after.id} leaves {missing} unused: "
                        "op ids run from 0 without gaps")


def _link_fallbacks(ops, by_name):
    """{op: X} fallbacks name a known other op, and their options fit the op."""
    for o in ops:
        for fb in o.fallback:
            if fb.kind != "op":
                continue
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


def _check_chains(ops, by_name):
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
