# SPDX-License-Identifier: MIT
"""What the model implies, worked out once before rendering.

- routes: each op's fallback chain flattened into the routes the runtime
  tries, best first (an alternate op brings its own chain along);
- edges: every SQE conversion a route uses, with what it clears and sets;
- sys_ops: the ops whose chain makes a system call;
- conformance: the plan of the generated SQE conformance test, with the
  oracle's expected fields (conformance.py, oracle.py).
"""
from dataclasses import dataclass, field
from typing import Optional

from . import conformance
from .model import MORE_WHILE, value_key

_HOW = {"same": "", "rearm": " (re-armed)", "notif": " (two-phase completion kept)"}


@dataclass
class Route:
    engine: str               # kernel | syscall | emulate | none
    exec_op: object           # the model.Op whose SQE layout runs
    how: str                  # same | rearm | notif
    edges: list               # [(from_op, to_op, repeat_arg)]: SQE conversions, in order
    sys: Optional[object]     # syscall routes: the model.Fallback
    emulate: Optional[str]    # emulate routes: the kind
    text: str                 # for people
    setup: list = field(default_factory=list)   # IORING_SETUP_* the ring must have
    repeat: Optional[object] = None   # rearm: the model.Arg limiting repeats
    more_while: Optional[str] = None  # rearm: positive | nonneg | etime


@dataclass
class EdgePlan:
    """An SQE conversion: what turns op src's SQE into op dst's."""
    src: object
    dst: object
    clears: list    # SqeFields to zero
    unors: list     # SetVals whose bits to clear
    sets: list      # SetVals of the target op to apply


@dataclass
class Plan:
    routes: dict        # op name -> [Route]
    edges: list         # [EdgePlan], each conversion once
    sys_ops: list       # ops whose chain has a syscall: they get an emulation function
    conformance: dict   # op name -> conformance.Plan
    helpers: dict = field(default_factory=dict)  # helper name -> conformance.HelperPlan


def make(spec, oracle):
    routes = {o.name: op_routes(o) for o in spec.ops}
    edges, seen = [], set()
    for o in spec.ops:
        for r in routes[o.name]:
            for a, b, rep in r.edges:
                if (a.name, b.name) not in seen:
                    seen.add((a.name, b.name))
                    edges.append(edge_plan(a, b, rep))
    return Plan(routes=routes, edges=edges,
                sys_ops=[o for o in spec.ops if o.sys_fallback],
                conformance={o.name: conformance.plan(o, spec, oracle) for o in spec.ops},
                helpers={h.name: conformance.helper_plan(h, spec, oracle) for h in spec.helpers})


def op_routes(op):
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
    walk(op, ("same", [], None, None), [], {op.name})
    return out


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
    def key(st):
        return st.field.name, value_key(st.value)
    b_or = {key(st) for st in b.sets if st.is_or}
    unor = [st for st in a.sets if st.is_or and key(st) not in b_or]
    a_set = {key(st) for st in a.sets if not st.is_or}
    sets = [st for st in b.sets if key(st) not in a_set and st.field.name != "flags"]
    return EdgePlan(a, b, clear, unor, sets)
