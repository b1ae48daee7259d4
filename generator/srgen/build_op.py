# SPDX-License-Identifier: MIT
"""One op entry (a base op or a variant) -> model.Op, with its own checks:
names, arguments and the SQE fields they write, memory kinds and the
arguments they refer to, constant fields, forms, direct descriptors and the
fallback chain's entries.  Checks across ops are in build.py.
"""
import dataclasses
import re

from . import cexpr, cnames
from .errors import SpecError
from .model import Arg, Direct, Fallback, Form, Helper, HelperEntry, Mem, ModifierUse, Op, Opcode, SetVal, Size


class OpBuilder:
    def __init__(self, tables):
        self.t = tables     # build.Tables: ring.yaml, checked

    def op(self, n, parent):
        def opt(key, default=None):
            if key in n:
                return n[key].value
            return default

        name = n["name"].value
        self._check_name(name, n["name"].loc, cnames.op_name_clash)
        kernel = self.t.kernel(n["kernel"])
        if parent is None:
            number = n["opcode"].value
            if not 0 <= number <= 255:
                raise SpecError(n["opcode"].loc, f"opcode {number} does not fit the SQE's 8-bit opcode")
            uapi = opt("uapi", "IORING_OP_" + name.upper())
            opcode = Opcode(number, uapi, None, n["opcode"].loc)
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
                raw_pointers=None, requires_setup=[], test_skip=None, parent=parent, loc=n.loc,
                id=n["id"].value, id_loc=n["id"].loc, kernel_loc=n["kernel"].loc)
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
        # Checked-API mode: a variant may own memory its opcode's other
        # forms leave raw (a socket command with results, under uring_cmd).
        if "checked" in n and "owned" in n["checked"]:
            if not n["checked"]["owned"].value:
                raise SpecError(n["checked"]["owned"].loc, f"{name}: owned: false is raw_pointers: give the "
                                "reason instead (checked: {raw_pointers: why})")
            op.raw_pointers = None
        elif "checked" in n:
            op.raw_pointers = n["checked"]["raw_pointers"].value
        elif parent is not None:
            op.raw_pointers = parent.raw_pointers
        if "requires" in n:
            op.requires_setup = [x.value for x in n["requires"]["setup_any"].value]
            known = self.t.setup_by_name
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
        self._check_syscalls(op, inherited="fallback" not in n)
        return op

    def _check_syscalls(self, op, inherited):
        """A syscall expression names the op's arguments, the spec's constants
        and what the headers op_table.c includes declare (a variant checks the
        chain it inherits against its own arguments)."""
        for fb in op.fallback:
            if fb.kind != "syscall":
                continue
            args = {a.name for a in op.all_args}
            lists = ("runtime", "prep", "api", "fallback")
            own = set()
            for node in fb.locals_nodes:
                own.add(self._local(node, lists, args | own, op.name))
            names = self.t.names(lists, args | own | self.t.macros | cnames.OP_TABLE_MACROS)
            what = f"{op.name}: syscall" + (f" (inherited from {op.parent.name})" if inherited and op.parent else "")
            cexpr.check(fb.text_node, fb.text, names, what,
                        lambda x: f"not an argument of {op.name} ({', '.join(sorted(args)) or 'none'}), a "
                        f"constant (SR_NAME) or a name of the headers in {self.t.file}; a call from "
                        f"another header needs {{include: HEADER, names: [{x}]}} in headers.fallback")

    def _local(self, node, lists, taken, opname):
        """A variable a syscall expression declares: 'TYPE NAME', the type from the headers."""
        toks, _ = cexpr.tokens(node.value)
        if not toks or toks[-1].kind != "ident" or len(toks) < 2:
            raise SpecError(node.loc, f"{opname}: locals: '{node.value}' is not a declaration like "
                            "'unsigned long n'")
        name = toks[-1].text
        self._check_name(name, node.loc_at(toks[-1].offset, name), cnames.arg_name_clash)
        if name in taken or name == "ret":
            raise SpecError(node.loc_at(toks[-1].offset, name), f"{opname}: locals: '{name}' is already an "
                            "argument, a local, or the generated function's own (ret)")
        cexpr.check(node, node.value[:toks[-1].offset], self.t.names(lists), f"{opname}: locals")
        return name

    @staticmethod
    def _check_name(name, loc, clash):
        if name in cexpr.KEYWORDS:
            raise SpecError(loc, f"'{name}' is a C or C++ keyword and cannot name an op or argument")
        why = clash(name)
        if why:
            raise SpecError(loc, why)

    def _helper(self, node):
        text = node.value
        if text == "none":
            return Helper(None, None, node.loc)
        hname, since = text.split("@")
        if since != "unreleased":
            self.t.liburing(node, since)
        return Helper(hname, since, node.loc)

    def _arg(self, n, opname):
        name = n["name"].value
        self._check_name(name, n["name"].loc, cnames.arg_name_clash)
        tname = n["type"].value
        ctype = self.t.types.get(tname)
        if ctype is None:
            raise SpecError(n["type"].loc, f"{opname}.{name}: unknown C type '{tname}'",
                            "known types are listed under types: in spec/ring.yaml")
        fname = n["field"].value
        f = self.t.fields.get(fname)
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
            elif "or" in n["checked"]:
                arg.checked_or = self._const_expr(n["checked"]["or"], opname)
                if ctype.is_ptr:
                    raise SpecError(n["checked"]["or"].loc, f"{opname}.{name}: checked: or: sets bits of an "
                                    "integer, not a pointer")
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
            "copy": set(), "msghdr": {"fixed"}, "provided": {"dir"}, "target": set(), "key": set()}[kind]
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
        if kind == "provided":
            # out: the kernel fills a buffer it picks (recv); in: it sends
            # the buffers queued in a send group (send bundles).
            m.dir = m.dir or "out"
            if m.lifetime != "kernel_selected":
                raise SpecError(n["lifetime"].loc, f"{opname}.{arg.name}: a provided buffer's lifetime is "
                                "kernel_selected (the completion says which one the kernel took)")
        if kind == "buffer" and m.lifetime not in ("completion", "notification"):
            raise SpecError(n["lifetime"].loc, f"{opname}.{arg.name}: a data buffer lives until completion or notification")
        for k in ("ctype", "unit", "init"):
            if k in n:
                # Printed into api.h: complete types from the headers it includes.
                cexpr.check(n[k], n[k].value, self.t.names(("runtime", "prep", "api")), f"{opname}.{arg.name}: {k}",
                            lambda x: f"api.h sees the headers.runtime, prep and api lists of {self.t.file}; "
                            f"a type from another header needs {{include: HEADER, names: [{x}]}} in headers.api")
        return m

    def _link_mem(self, op, only=None):
        """Resolve len/count/fixed/size references to arguments of the same op
        (of the arguments in only, when given: a modifier's, added later)."""
        by = {a.name: a for a in op.all_args}
        for a in (op.all_args if only is None else only):
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
                if kind == "string" and not a.ctype.points_to_bytes:
                    raise SpecError(loc, f"{op.name}.{a.name}: size: string needs a char pointer")
                if kind in ("sizeof", "array") and a.ctype.points_to_bytes:
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
        f = self.t.fields.get(key)
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
            return v
        c = self.t.constant(v)
        if c is not None:
            return c
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
                          ("sleeps", "syscall"),
                          ("kernel", "syscall"), ("probe", "syscall"), ("locals", "syscall")):
            if key in n and kind not in n:
                article = "an" if kind == "op" else "a"
                raise SpecError(n[key].loc, f"{key}: applies to {article} {{{kind}: ...}} fallback")
        for key in ("repeat", "more_while"):
            if key in n and get("how") != "rearm":
                raise SpecError(n[key].loc, f"{key}: applies to a fallback with how: rearm")
        if "setup" in n and get("setup") not in self.t.setup_by_name:
            raise SpecError(n["setup"].loc, f"unknown setup flag '{get('setup')}'")
        if "op" in n:
            return Fallback("op", get("op"), get("how") or "same", None, n.loc, setup=get("setup"),
                            repeat=get("repeat"), more_while=get("more_while"))
        if "syscall" in n:
            if ("kernel" in n) != ("probe" in n):
                key = "kernel" if "kernel" in n else "probe"
                raise SpecError(n[key].loc, "kernel: and probe: go together (the date for simulated kernels, "
                                "the trial for real ones)")
            fb = Fallback("syscall", None, None, get("syscall"), n.loc, wait=get("wait"), name=get("name"),
                          text_node=n["syscall"],
                          queued_at_submit=bool(get("queued_at_submit")), sleeps=bool(get("sleeps")),
                          kernel=self.t.kernel(n["kernel"]) if "kernel" in n else None, probe=get("probe"))
            fb.locals = [x.value for x in n["locals"].value] if "locals" in n else []
            fb.locals_nodes = n["locals"].value if "locals" in n else []
            return fb
        if "emulate" in n:
            return Fallback("emulate", get("emulate"), None, None, n.loc)
        return Fallback("none", None, None, get("none"), n.loc)



class HelperBuilder:
    """ops.yaml `helpers:` -> model.HelperEntry, and each modifier's setter on its ops."""

    def __init__(self, ob):
        self.ob = ob

    def entry(self, n, by_name):
        ob = self.ob
        name = n["name"].value
        ob._check_name(name, n["name"].loc, lambda x: None)
        kind = n["kind"].value
        helper = ob._helper(n["helper"])
        if not helper.name:
            raise SpecError(n["helper"].loc, f"helper {name}: a liburing helper is what this entry mirrors")
        args = [ob._arg(a, name) for a in n["args"].value]
        h = HelperEntry(name=name, kind=kind, kernel=ob.t.kernel(n["kernel"]),
                        kernel_source=n["kernel_source"].value if "kernel_source" in n else None,
                        doc=n["doc"].value, helper=helper, args=args,
                        on=[x.value for x in n["on"].value] if "on" in n else [],
                        setter=n["setter"].value if "setter" in n else None,
                        test_skip=n["test"]["skip"].value if "test" in n else None, loc=n.loc)
        fake = Op(name=f"helper {name}", opcode=None, kernel=h.kernel, kernel_source=None, doc="", helper=helper,
                  fd_kind="none", shape="single", result="status", args=args, options=[], sets=[], forms=[],
                  fallback=[], raw_pointers=None, requires_setup=[], test_skip=None, parent=None, loc=n.loc)
        ob._link_mem(fake)
        opcode = [a for a in args if a.field.name == "opcode"]
        if kind == "generic":
            if len(opcode) != 1:
                raise SpecError(n["args"].loc, f"helper {name}: a generic helper takes the opcode as one "
                                "argument (field: opcode)")
            for key in ("on", "setter"):
                if key in n:
                    raise SpecError(n[key].loc, f"helper {name}: {key}: is for modifiers")
            if args[0] is not opcode[0]:
                raise SpecError(opcode[0].loc, f"helper {name}: the opcode comes first (before the SQE, "
                                "as io_uring_prep_rw takes it)")
            rest = fake
            rest.args = [a for a in args if a is not opcode[0]]
            ob._check_fields(rest)
            rest.args = args
        else:
            if opcode:
                raise SpecError(opcode[0].loc, f"helper {name}: a modifier changes an SQE prepared before; "
                                "its opcode is not the modifier's to write")
            ob._check_fields(fake)
            if ("on" in n) != ("setter" in n):
                key = "on" if "on" in n else "setter"
                raise SpecError(n[key].loc, f"helper {name}: on: and setter: go together (the ops, and "
                                "sr_OP_set_SETTER)")
        for a in args:
            if a.optional:
                raise SpecError(a.loc, f"helper {name}.{a.name}: every argument of a helper is a parameter")
        for x in (n["on"].value if "on" in n else []):
            op = by_name.get(x.value)
            if op is None:
                raise SpecError(x.loc, f"helper {name}: on: names unknown op '{x.value}'")
            self._apply(h, op, n, x.loc)
        return h

    def _apply(self, h, op, n, loc):
        """The modifier's arguments join op's options, set by one setter."""
        ob = self.ob
        if op.modifiers and any(m.entry is h for m in op.modifiers):
            raise SpecError(loc, f"helper {h.name}: on: names {op.name} twice")
        taken = {"sqe_flags", "personality", "file", "rearm_on_enobufs"} | {a.name for a in op.setter_args}
        if h.setter in taken:
            raise SpecError(n["setter"].loc, f"helper {h.name}: sr_{op.name}_set_{h.setter} is taken already")
        args = []
        for src in n["args"].value:
            a = ob._arg(src, op.name)
            if any(b.name == a.name for b in op.all_args):
                raise SpecError(a.loc, f"helper {h.name}: {op.name} has an argument '{a.name}' already")
            if a.mem and a.mem.kind not in ("copy", "key"):
                raise SpecError(a.loc, f"helper {h.name}.{a.name}: a setter can copy memory (copy) or pass an "
                                f"address (key), not take a {a.mem.kind}")
            a.modifier = h
            args.append(a)
        op.options += args
        ob._link_mem(op, args)
        try:
            ob._check_fields(op)
        except SpecError as e:
            raise SpecError(loc, f"helper {h.name} on {op.name}: {e.msg}")
        op.modifiers.append(ModifierUse(h, args))
