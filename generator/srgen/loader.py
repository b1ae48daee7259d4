# SPDX-License-Identifier: MIT
"""Load YAML keeping every node's position.

yaml.safe_load() throws line numbers away, so we compose the node graph
and convert it into Node objects that keep a Loc for themselves and for
each mapping key.  Duplicate keys, which YAML silently accepts, are errors.
"""
import re

import yaml

from .errors import Loc, SpecError


class Node:
    """A YAML node: kind is 'map', 'seq' or 'scalar'.

    A scalar also keeps its source text (raw, quotes and escapes included)
    and style, so a position inside its value can be found (loc_at)."""

    __slots__ = ("kind", "value", "loc", "key_locs", "raw", "style")

    def __init__(self, kind, value, loc, key_locs=None, raw=None, style=None):
        self.kind = kind
        self.value = value
        self.loc = loc
        self.key_locs = key_locs or {}
        self.raw = raw
        self.style = style

    def loc_at(self, offset, token=None):
        """The position of value[offset] (the start of token there) in the file."""
        text, raw = self.value, self.raw
        if not isinstance(text, str) or raw is None or not 0 <= offset <= len(text):
            return self.loc
        start = 1 if self.style in ('"', "'") else 0
        if raw[start:start + len(text)] == text:
            p = start + offset              # no escapes or folding: the same characters
        elif token:
            # The same occurrence of the token in the source text.
            word = r"(?<![A-Za-z0-9_])" + re.escape(token) + r"(?![A-Za-z0-9_])"
            k = len(re.findall(word, text[:offset]))
            found = [m.start() for m in re.finditer(word, raw)]
            if k >= len(found):
                return self.loc
            p = found[k]
        else:
            return self.loc
        nl = raw.rfind("\n", 0, p)
        if nl < 0:
            return Loc(self.loc.file, self.loc.line, self.loc.col + p)
        return Loc(self.loc.file, self.loc.line + raw.count("\n", 0, p), p - nl)

    # Convenience accessors for the model builder.
    def get(self, key, default=None):
        assert self.kind == "map"
        return self.value.get(key, default)

    def __contains__(self, key):
        return self.kind == "map" and key in self.value

    def __getitem__(self, key):
        return self.value[key]

    def plain(self):
        """The node as plain Python data (no positions)."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value


# libyaml's parser when python3-yaml has it (ten times faster; the same
# nodes and marks), else PyYAML's own.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):
    """SafeLoader with YAML 1.2 booleans: only true/false.

    YAML 1.1 reads on/off/yes/no as booleans, and `field: off` (the SQE
    field) would silently become False.
    """


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:bool"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|false)$"), list("tf"))


# The spec nests about 8 deep; far more is a mistake (and Python's stack).
_MAX_DEPTH = 64


def _loc(path, mark):
    return Loc(path, mark.line + 1, mark.column + 1)


class _Converter(yaml.constructor.SafeConstructor):
    def __init__(self, path, text):
        super().__init__()
        self.path = path
        self.text = text

    def convert(self, node, active=()):
        loc = _loc(self.path, node.start_mark)
        if id(node) in active:
            raise SpecError(loc, "an alias refers to the node that contains it")
        if len(active) > _MAX_DEPTH:
            raise SpecError(loc, f"nested more than {_MAX_DEPTH} deep")
        active = active + (id(node),) if not isinstance(node, yaml.ScalarNode) else active
        if isinstance(node, yaml.MappingNode):
            out, key_locs = {}, {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise SpecError(_loc(self.path, knode.start_mark),
                                    "mapping keys must be plain words")
                key = self.construct_object(knode)
                if not isinstance(key, str):
                    raise SpecError(_loc(self.path, knode.start_mark),
                                    f"mapping key {key!r} must be a word")
                if key in out:
                    raise SpecError(_loc(self.path, knode.start_mark),
                                    f"duplicate key '{key}'",
                                    f"first given at {key_locs[key]}")
                key_locs[key] = _loc(self.path, knode.start_mark)
                out[key] = self.convert(vnode, active)
            return Node("map", out, loc, key_locs)
        if isinstance(node, yaml.SequenceNode):
            return Node("seq", [self.convert(n, active) for n in node.value], loc)
        raw = self.text[node.start_mark.index:node.end_mark.index]
        return Node("scalar", self.construct_object(node), loc, raw=raw, style=node.style)


# The line breaks YAML counts lines by.
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _pos(name, text, index):
    """The Loc of text[index], counting lines as YAML does."""
    line, start = 1, 0
    for m in _BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return Loc(name, line, index - start + 1)


def load(path, display=None):
    """Parse one YAML file into a Node tree; errors carry file:line:col."""
    name = display or path
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SpecError(Loc(name, 1, 1), f"cannot read: {e.strerror}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[:e.start].decode("utf-8")
        raise SpecError(_pos(name, good, len(good)), f"not UTF-8: byte 0x{data[e.start]:02x}")
    if not text.startswith("# SPDX-License-Identifier:"):
        raise SpecError(Loc(name, 1, 1),
                        "the first line must be an SPDX-License-Identifier comment")
    try:
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            raise SpecError(Loc(name, 1, 1), "file is empty")
        return _Converter(name, text).convert(root)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise SpecError(_loc(name, mark) if mark else Loc(name, 1, 1),
                        f"YAML syntax: {e.problem or e.context}")
    except yaml.reader.ReaderError as e:
        raise SpecError(_pos(name, text, e.position), f"YAML cannot hold character U+{e.character:04X}"
                        if isinstance(e.character, int) else f"YAML: {e.reason}")
    except RecursionError:      # in the parser, before a node could be placed
        raise SpecError(Loc(name, 1, 1), "nested too deeply for the YAML parser")
