# SPDX-License-Identifier: MIT
"""The independent oracle for SQE layouts: spec/oracle/*.tsv.

opcodes.tsv (from ../shared/reference, written from liburing's helpers and
checked byte for byte there) lists the fields each opcode's primary helper
writes; variants.tsv covers helpers newer than the installed liburing.  The
conformance test builds the expected SQE from these rows, so a mistake in
the spec's argument-to-field mapping cannot hide behind itself.
"""
import os
import re

from . import cnames
from .errors import Loc, SpecError

_ASSIGN = re.compile(r"^([A-Za-z_0-9/]+)(\|?=)(.+)$")


class Oracle:
    def __init__(self, by_helper, by_opcode, paths):
        self.by_helper = by_helper      # helper or op name -> (fields_set, Loc)
        self.by_opcode = by_opcode      # opcode number -> (helper, fields_set, Loc)
        self.paths = paths

    def row_for(self, op, helper_name):
        """The fields row describing helper_name (or, with no helper, op)."""
        if helper_name and helper_name in self.by_helper:
            return self.by_helper[helper_name]
        if helper_name is None and op.name in self.by_helper:
            return self.by_helper[op.name]
        # opcodes.tsv describes each opcode's primary helper, which is the
        # base op's own (its helper list is not in primary-first order).
        row = self.by_opcode.get(op.opcode.number)
        if row and op.parent is None and helper_name == op.helper.name:
            return row[1], row[2]
        return None

    def expected(self, op, args, helper_name, spec, var=None):
        """[(SqeField, c_expr, is_or)] for the helper, or None if no row.

        var maps an argument name to the C variable holding its sample."""
        row = self.row_for(op, helper_name)
        if row is None:
            return None
        return self._fields(row, args, helper_name or op.name, spec, var)

    def expected_helper(self, h, spec, var=None):
        """The row of a helpers: entry (generic or modifier), or None."""
        row = self.by_helper.get(h.helper.name)
        return None if row is None else self._fields(row, h.args, h.helper.name, spec, var)

    def _fields(self, row, args, who, spec, var):
        text, loc = row
        fields = {f.name: f for f in spec.sqe_fields}
        consts = {c.name: c for c in spec.constants}
        consts.update({f.name: f for f in spec.sqe_flags + spec.cqe_flags + spec.setup_flags})
        by_arg = {a.name: a for a in args}
        out = []
        for part in text.split(";"):
            m = _ASSIGN.match(part.strip())
            if not m:
                raise SpecError(loc, f"oracle: cannot read assignment '{part}'")
            fname = m.group(1).split("/")[0]
            value = m.group(3)
            f = fields.get(fname)
            if f is None:
                if value == "0":
                    continue    # padding such as __pad1, zero in every SQE
                raise SpecError(loc, f"oracle: unknown SQE field '{fname}' for {who}")
            out.append((f, _expr(value, by_arg, consts, loc, who, var or {}), m.group(2) == "|="))
        return out


def _expr(value, by_arg, consts, loc, who, var):
    terms = []
    for term in value.split("|"):
        plus = 0
        if term.endswith("+1"):
            term, plus = term[:-2], 1
        if re.fullmatch(r"-?\d+", term):
            c = f"(__u64)({term}LL)"
        elif term in by_arg:
            a = by_arg[term]
            v = var.get(term, f"v_{term}")
            c = f"(__u64)(uintptr_t){v}" if a.ctype.is_ptr else f"(__u64){v}"
        elif term in consts:
            c = f"(__u64){cnames.const_macro(consts[term])}"
        else:
            raise SpecError(loc, f"oracle: '{term}' in {who} is neither an argument, a number nor a known constant")
        if plus:
            c = f"({c} + 1)"
        terms.append(c)
    return " | ".join(terms)


_OPCODE_COLUMNS = ("number", "liburing_helper", "fields_set")


def _lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SpecError(Loc(path, 1, 1), f"cannot read: {e.strerror}")
    try:
        return data.decode("utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise SpecError(Loc(path, data.count(b"\n", 0, e.start) + 1, 1), f"not UTF-8: byte 0x{data[e.start]:02x}")


def load(opcodes_tsv, variants_tsv=None):
    """The oracle rows; a malformed row is reported as FILE:LINE:COL."""
    by_helper, by_opcode, paths = {}, {}, []
    if opcodes_tsv and not os.path.exists(opcodes_tsv):
        raise SpecError(Loc(opcodes_tsv, 1, 1), "oracle file not found (give --oracle none to go without)")
    if opcodes_tsv:
        paths.append(opcodes_tsv)
        lines = _lines(opcodes_tsv)
        head = lines[0].split("\t")
        missing = [c for c in _OPCODE_COLUMNS if c not in head]
        if missing:
            raise SpecError(Loc(opcodes_tsv, 1, 1), f"oracle: no column {', '.join(missing)} in the header line")
        for i, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) != len(head):
                raise SpecError(Loc(opcodes_tsv, i, 1), f"oracle: {len(cells)} cells, the header has {len(head)}")
            row = dict(zip(head, cells))
            if not re.fullmatch(r"\d{1,3}", row["number"]):
                raise SpecError(Loc(opcodes_tsv, i, 1), f"oracle: opcode number '{row['number']}' is not a number")
            helper = row["liburing_helper"].split(",")[0].split("@")[0]
            key = None if helper == "none" else helper
            by_opcode[int(row["number"])] = (key, row["fields_set"], Loc(opcodes_tsv, i, 1))
    if variants_tsv is None and opcodes_tsv:
        variants_tsv = os.path.join(os.path.dirname(opcodes_tsv), "variants.tsv")
    if variants_tsv and os.path.exists(variants_tsv):
        paths.append(variants_tsv)
        for i, line in enumerate(_lines(variants_tsv), start=1):
            if not line or line.startswith("#") or line.startswith("helper\t"):
                continue
            cells = line.split("\t")
            if len(cells) != 2:
                raise SpecError(Loc(variants_tsv, i, 1), "oracle: a row is HELPER<TAB>FIELDS")
            by_helper[cells[0]] = (cells[1], Loc(variants_tsv, i, 1))
    # An opcode whose primary helper is absent has its row keyed by op name
    # (callers pass helper_name None); row_for() handles both.
    return Oracle(by_helper, by_opcode, paths)
