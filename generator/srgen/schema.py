# SPDX-License-Identifier: MIT
"""Check a spec file against spec/schema.yaml (structure and value types).

Semantic rules (unique numbers, field overlaps, references between ops)
live in model.py; this stage only makes sure every node has the shape the
model builder expects, so that it can report a bad node precisely.
"""
import re

from .errors import SpecError

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
HELPER = re.compile(r"^(none|io_uring_prep_[a-z0-9_]+@(\d+\.\d+|unreleased))$")

_SCALAR_TYPES = ("str", "int", "bool", "ident", "version", "helper", "scalar")


class Schema:
    def __init__(self, root):
        self.roots = root["roots"].plain()
        self.defs = root["definitions"].value
        # The schema itself must only name definitions that exist.
        for name, d in self.defs.items():
            for section in ("required", "optional"):
                if section in d:
                    for key, t in d[section].value.items():
                        self._check_type_name(t)
            if "alternatives" in d:
                for t in d["alternatives"].value:
                    self._check_type_name(t)

    def _check_type_name(self, tnode):
        t = tnode.value
        while t.startswith(("list:", "map:")):
            t = t.split(":", 1)[1]
        if t.startswith("enum:") or t in _SCALAR_TYPES or t in self.defs:
            return
        raise SpecError(tnode.loc, f"schema names unknown type '{t}'")

    def check_file(self, basename, node):
        root = self.roots.get(basename)
        if root is None:
            raise SpecError(node.loc, f"no schema root for a file named {basename}")
        self.check(node, root, "")

    # --- type checks -------------------------------------------------------

    def check(self, node, t, where):
        if t.startswith("list:"):
            if node.kind != "seq":
                raise SpecError(node.loc, f"{where or 'value'}: expected a list")
            for i, item in enumerate(node.value):
                self.check(item, t[5:], f"{where}[{i}]")
            return
        if t.startswith("map:"):
            if node.kind != "map":
                raise SpecError(node.loc, f"{where or 'value'}: expected a mapping")
            for k, v in node.value.items():
                if not IDENT.match(k):
                    raise SpecError(node.key_locs[k], f"{where}: key '{k}' is not an identifier")
                self.check(v, t[4:], f"{where}.{k}")
            return
        if t.startswith("enum:"):
            words = t[5:].split("|")
            if node.kind != "scalar" or node.value not in words:
                raise SpecError(node.loc, f"{where}: expected one of {', '.join(words)}; got {_show(node)}")
            return
        if t in _SCALAR_TYPES:
            self._scalar(node, t, where)
            return
        self._definition(node, t, where)

    def _scalar(self, node, t, where):
        v = node.value
        if node.kind != "scalar":
            raise SpecError(node.loc, f"{where}: expected {t}, got a {node.kind}")
        if t == "scalar":
            if v is not None and not isinstance(v, (int, str)):
                raise SpecError(node.loc, f"{where}: expected a number, a name or null")
            return
        if t == "bool":
            if not isinstance(v, bool):
                raise SpecError(node.loc, f"{where}: expected true or false; got {_show(node)}")
            return
        if t == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                raise SpecError(node.loc, f"{where}: expected an integer; got {_show(node)}")
            return
        if t == "version" and isinstance(v, float):
            raise SpecError(node.loc, f"{where}: kernel versions must be quoted strings",
                            f"unquoted {v!r} is a number; write \"{v}\" (and \"5.10\", not 5.10)")
        if not isinstance(v, str):
            raise SpecError(node.loc, f"{where}: expected {t}; got {_show(node)}")
        if t == "ident" and not IDENT.match(v):
            raise SpecError(node.loc, f"{where}: '{v}' is not an identifier")
        if t == "version" and not VERSION.match(v):
            raise SpecError(node.loc, f"{where}: '{v}' is not a kernel version like \"5.19\" or \"6.1.2\"")
        if t == "helper" and not HELPER.match(v):
            raise SpecError(node.loc, f"{where}: '{v}' is not 'none' or io_uring_prep_NAME@RELEASE",
                            "e.g. io_uring_prep_read@0.4")

    def _definition(self, node, name, where):
        d = self.defs[name]
        if "alternatives" in d:
            errors = []
            for alt in d["alternatives"].value:
                try:
                    self.check(node, alt.value, where)
                    return
                except SpecError as e:
                    errors.append(e)
            # Report the alternative that got furthest (the deepest location).
            raise max(errors, key=lambda e: (e.loc.line, e.loc.col))
        if node.kind != "map":
            raise SpecError(node.loc, f"{where or name}: expected a mapping ({name}), got {_show(node)}")
        req = d["required"].value if "required" in d else {}
        opt = d["optional"].value if "optional" in d else {}
        for key in req:
            if key not in node.value:
                raise SpecError(node.loc, f"{where or name}: missing required key '{key}'")
        for key, v in node.value.items():
            tnode = req.get(key) or opt.get(key)
            if tnode is None:
                allowed = ", ".join(list(req) + list(opt))
                raise SpecError(node.key_locs[key], f"{where or name}: unknown key '{key}'",
                                f"{name} takes: {allowed}")
            self.check(v, tnode.value, f"{where}.{key}" if where else key)
        if "exactly_one_of" in d:
            keys = [k.value for k in d["exactly_one_of"].value]
            present = [k for k in keys if k in node.value]
            if len(present) != 1:
                raise SpecError(node.loc, f"{where or name}: give exactly one of {', '.join(keys)}")


def _show(node):
    if node.kind != "scalar":
        return f"a {node.kind}"
    return repr(node.value)
