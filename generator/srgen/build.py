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
import re

from . import cexpr, cnames
from .build_op import HelperBuilder, OpBuilder
from .errors import SpecError
from .model import (MORE_WHILE, Constant, CType, FlagBit, Forbid, Header, RegisterOp, Spec, SqeField, Version)

# SR_OP__COUNT < 0xff: the runtime marks its own user_data with op 0xff.
MAX_OPS = 0xff


# Since 3.0 a major version has had at most 21 releases (x.0 .. x.20).
_LAST_MINOR = {1: 3, 2: 6}
_MAX_MINOR = 20
# How far past the newest release the spec knows a fact may run: the
# release in -rc and the one after it (a feature queued in linux-next).
RELEASES_AHEAD = 2
# Constants may predate io_uring (AT_FDCWD is 2.6.16).
_OLDEST_CONSTANT = Version(1, 0)

_HEADER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_][A-Za-z0-9_+-]*)*\.h$")
_CNAME = re.compile(r"^(?:(?:struct|union|enum) )?[A-Za-z_][A-Za-z0-9_]*$")
HEADER_LISTS = ("runtime", "prep", "api", "fallback")


class Tables:
    """ring.yaml, checked: what op entries refer to by name."""

    def __init__(self, ring):
        self.file = ring.loc.file
        self.fields = {}
        self.types = {}
        self.constants = {}
        rel = ring["releases"]
        self.kernels = self._range(rel["kernel"], "kernel", "Linux")
        self.liburings = self._range(rel["liburing"], "liburing", "liburing")
        self.headers = self._headers(ring["headers"])
        seen = self.names(HEADER_LISTS).idents
        for name, where in cnames.OP_TABLE_NEEDS.items():
            if name not in seen:
                raise SpecError(ring["headers"]["fallback"].loc, f"headers.fallback: generated/src/op_table.c "
                                f"uses '{name}', which no header here declares",
                                f"add {{include: {where}, names: [{name}]}}")
        self._sqe_fields(ring["sqe_fields"])
        self._types(ring["types"])
        for n in ring["constants"].value:
            name = n["name"].value
            if name in self.constants:
                raise SpecError(n["name"].loc, f"constant '{name}' defined twice")
            if not -(1 << 63) <= n["value"].value < (1 << 64):
                raise SpecError(n["value"].loc, f"constant '{name}': {n['value'].value} does not fit 64 bits")
            self.constants[name] = Constant(name, n["value"].value,
                                            self.kernel(n["kernel"], _OLDEST_CONSTANT), n.loc)
        self.sqe_flags = self._flags(ring["sqe_flags"], 8)
        self.cqe_flags = self._flags(ring["cqe_flags"], 32)
        self.features = self._flags(ring["features"], 32)
        self.enter_flags = self._flags(ring["enter_flags"], 32) if "enter_flags" in ring else []
        self.setup_flags = self._flags(ring["setup_flags"], 32)
        self.setup_by_name = {f.name: f for f in self.setup_flags}
        for n in ring["setup_flags"].value:
            for key in ("requires", "requires_any", "conflicts"):
                for ref in (n[key].value if key in n else []):
                    if ref.value not in self.setup_by_name:
                        raise SpecError(ref.loc, f"{n['name'].value}: {key}: unknown setup flag '{ref.value}'")
        self.ladder = self._ladder(ring["setup_ladder"])
        self.register_ops = self._register_ops(ring["register_ops"])

    # --- versions ---------------------------------------------------------------------

    def _range(self, n, what, who):
        first, newest = version(n["first"], who), version(n["newest"], who)
        if newest < first:
            raise SpecError(n["newest"].loc, f"releases.{what}: newest {newest} is older than first {first}")
        return first, newest

    def kernel(self, node, oldest=None):
        """A `kernel:` value: a Linux release the spec can mean."""
        return self._release(node, self.kernels, "Linux", "releases.kernel", oldest,
                             "io_uring first appeared in Linux")

    def liburing(self, node, text=None):
        """A liburing release (an SQE field's, a helper's @X.Y)."""
        return self._release(node, self.liburings, "liburing", "releases.liburing", None,
                             "liburing's first release is", text)

    def _release(self, node, rng, who, key, oldest, why_old, text=None):
        v = version(node, who, text)
        first, newest = rng
        oldest = oldest or first
        if v < oldest:
            raise SpecError(node.loc, f"{who} {v} is older than the spec can mean: {why_old} {first}")
        if (v.major, v.minor) > (newest.major, newest.minor) and (v.major, v.minor) not in _ahead(newest):
            a = [f"{x}.{y}" for x, y in _ahead(newest)]
            raise SpecError(node.loc, f"{who} {v} is later than the spec can know: its facts were checked "
                            f"against {who} {newest} ({key}.newest in {self.file}), and a fact may run "
                            f"{RELEASES_AHEAD} releases ahead ({', '.join(a[:RELEASES_AHEAD])}, "
                            f"or {', '.join(a[RELEASES_AHEAD:])})",
                            f"after checking the spec against a newer {who}, raise {key}.newest")
        return v

    # --- headers -------------------------------------------------------------------------

    def _headers(self, node):
        out = {}
        for lst in HEADER_LISTS:
            seen = {}
            out[lst] = []
            for n in node[lst].value:
                inc = n["include"]
                if not _HEADER.match(inc.value) or ".." in inc.value:
                    raise SpecError(inc.loc, f"headers.{lst}: '{inc.value}' is not a header path like sys/uio.h")
                if inc.value in seen:
                    raise SpecError(inc.loc, f"headers.{lst}: {inc.value} is listed twice",
                                    f"first at {seen[inc.value]}")
                seen[inc.value] = inc.loc
                names = []
                for x in n["names"].value:
                    if not _CNAME.match(x.value):
                        raise SpecError(x.loc, f"headers.{lst}: '{x.value}' is neither an identifier nor "
                                        "a tag like 'struct iovec'")
                    if x.value in names:
                        raise SpecError(x.loc, f"headers.{lst}: {inc.value} lists '{x.value}' twice")
                    names.append(x.value)
                out[lst].append(Header(inc.value, names, n.loc))
        return out

    def names(self, lists, idents=(), any_tag=False):
        """What C text may name when the given header lists are included."""
        ids, tags = set(idents), set()
        for lst in lists:
            for h in self.headers[lst]:
                for x in h.names:
                    (tags if " " in x else ids).add(x)
        where = f"the headers: {', '.join(lists)} lists in {self.file}"
        return cexpr.Names(frozenset(ids), frozenset(tags), any_tag, where)

    @property
    def macros(self):
        """The SR_NAME of every constant, flag and register operation (ops.h defines them)."""
        return {cnames.const_macro(c) for c in list(self.constants.values()) + self.sqe_flags + self.cqe_flags
                + self.setup_flags + self.features + self.register_ops}

    # --- tables --------------------------------------------------------------------------

    def _sqe_fields(self, node):
        for n in node.value:
            name = n["name"].value
            if name in self.fields:
                raise SpecError(n["name"].loc, f"SQE field '{name}' defined twice")
            f = SqeField(name, n["offset"].value, n["size"].value,
                         bool(n.get("signed") and n["signed"].value), self.liburing(n["liburing"]), n.loc)
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
            cexpr.check(n["c"], c, self.names(("runtime", "prep"), any_tag=kind == "ptr"), f"type '{c}'")
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
            for f, n in zip(flags, rung.value):
                missing = [x for x in f.requires if x not in names]
                if missing:
                    raise SpecError(n.loc, f"setup_ladder rung has {f.name} without {', '.join(missing)}, which it requires")
                if f.requires_any and not names.intersection(f.requires_any):
                    raise SpecError(n.loc, f"setup_ladder rung has {f.name} without one of {', '.join(f.requires_any)}")
                clash = [x for x in f.conflicts if x in names]
                if clash:
                    raise SpecError(n.loc, f"setup_ladder rung has {f.name} together with {', '.join(clash)}, which conflict")
            ladder.append(flags)
        if not rungs or rungs[-1].value:
            raise SpecError(rungs[-1].loc if rungs else node.loc,
                            "setup_ladder must end with an empty rung [] (plain setup)")
        return ladder

    def _register_ops(self, node):
        out, seen = [], {}
        for n in node.value:
            op = RegisterOp(n["name"].value, n["code"].value, self.kernel(n["kernel"]),
                            n["kernel_note"].value if "kernel_note" in n else None,
                            n["doc"].value if "doc" in n else None, n.loc)
            if not 0 <= op.code < (1 << 32):
                raise SpecError(n["code"].loc, f"register op {op.name}: code {op.code} does not fit 32 bits")
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
            out.append(FlagBit(name, bit, self.kernel(n["kernel"]),
                               n["doc"].value if "doc" in n else "",
                               bool(n["user"].value) if "user" in n else True,
                               n["kernel_note"].value if "kernel_note" in n else None,
                               lst("requires"), lst("requires_any"), lst("conflicts"), n.loc))
        return out


def version(node, who="Linux", text=None):
    """A version the schema has seen the shape of, with a minor number that exists."""
    v = Version.parse(node.value if text is None else text)
    if who != "Linux":
        return v
    if v.major in _LAST_MINOR and v.minor > _LAST_MINOR[v.major]:
        raise SpecError(node.loc, f"Linux {v} does not exist: {v.major}.x went up to {v.major}.{_LAST_MINOR[v.major]}")
    if v.minor > _MAX_MINOR:
        raise SpecError(node.loc, f"Linux {v} does not exist: since 3.0 a major version has had at most "
                        f"{_MAX_MINOR + 1} releases (x.0 to x.{_MAX_MINOR})")
    return v


def _ahead(newest):
    """The releases that may follow newest, as (major, minor)."""
    return ([(newest.major, newest.minor + k) for k in range(1, RELEASES_AHEAD + 1)] +
            [(newest.major + 1, k) for k in range(RELEASES_AHEAD)])


def build(ring_node, ops_node, sources):
    """The checked model of spec/ring.yaml and spec/ops.yaml."""
    tables = Tables(ring_node)
    ob = OpBuilder(tables)
    ops, opcodes = _ops(ops_node, ob)
    helpers = _helpers(ops_node, ob, ops)
    return Spec(ops=ops, opcodes=opcodes, sqe_fields=list(tables.fields.values()),
                types=list(tables.types.values()), constants=list(tables.constants.values()),
                sqe_flags=tables.sqe_flags, cqe_flags=tables.cqe_flags,
                setup_flags=tables.setup_flags, ladder=tables.ladder, features=tables.features,
                register_ops=tables.register_ops, headers=tables.headers, sources=sources,
                enter_flags=tables.enter_flags, helpers=helpers)


def _helpers(ops_node, ob, ops):
    """ops.yaml `helpers:`: each mirrors a liburing helper no op's prep covers."""
    if "helpers" not in ops_node:
        return []
    hb = HelperBuilder(ob)
    by_name = {o.name: o for o in ops}
    helpers = {}
    preps = {}
    for o in ops:
        for h, loc in [(o.helper, o.loc)] + [(f.helper, f.loc) for f in o.forms]:
            if h.name:
                helpers[h.name] = f"op {o.name}"
        preps[cnames.prep_name(o)] = o.loc
        for f in o.forms:
            preps[cnames.form_prep_name(f)] = f.loc
    out = []
    for n in ops_node["helpers"].value:
        name = n["name"].value
        if name in by_name:
            raise SpecError(n["name"].loc, f"helper {name}: an op has that name (sr_prep_{name} is its prep)")
        pname = "sr_prep_" + name
        if pname in preps:
            raise SpecError(n["name"].loc, f"{pname} would be generated twice", f"also from {preps[pname]}")
        h = hb.entry(n, by_name)
        if h.helper.name in helpers:
            raise SpecError(h.helper.loc, f"helper {h.helper.name} is already the reference of "
                            f"{helpers[h.helper.name]}")
        helpers[h.helper.name] = f"helper {name}"
        preps[pname] = h.loc
        out.append(h)
    return out


def _shape_forbids(family):
    # A variant of another completion shape made by OR-ing bits into a
    # field (timeout -> timeout_multishot): the ops of the family with a
    # settable argument in that field refuse those bits, or the checked API
    # would track a stream as a single completion.
    for v in family:
        for s in (x for x in v.sets if x.is_or):
            for o in family:
                if o.shape == v.shape or any(x.is_or and x.field is s.field and x.value == s.value for x in o.sets):
                    continue
                for a in o.all_args:
                    if a.field is s.field and a.checked_value is None:
                        name = s.value.name if hasattr(s.value, "name") else str(s.value)
                        a.shape_forbids.append(Forbid(a, s.value, f"{name} would make this {o.name} a {v.name} "
                                                      f"({v.shape} completion); use sr_{v.name}()"))


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
        _shape_forbids(family)
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
            raise SpecError(b.kernel_loc, f"{b.name} (opcode {oc.number}) says Linux {b.kernel}, older than "
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
