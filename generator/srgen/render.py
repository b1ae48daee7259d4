# SPDX-License-Identifier: MIT
"""Render the model and its plan through one Jinja template per output
file, then write every file atomically, and only if the whole run
succeeded.  Nothing here decides anything: the templates only loop and
print what the earlier stages worked out."""
import functools
import os
import tempfile

import jinja2

from . import GEN_ABI, cnames, reference, roff

# Output file (relative to the output directory) -> template.  A name with
# {op} is one file per op (sr_{op}: the op's API name); its template sees
# the op as `o`.  One with {helper}: one per entry of ops.yaml `helpers:`,
# seen as `h`.
OUTPUTS = [
    ("include/safer-ring/ops.h", "ops.h.j2"),
    ("include/safer-ring/prep.h", "prep.h.j2"),
    ("include/safer-ring/api.h", "api.h.j2"),
    ("src/op_table.c", "op_table.c.j2"),
    ("docs/ops.md", "ops.md.j2"),
    ("tests/conformance_sqe.c", "conformance_sqe.c.j2"),
    ("tests/conformance_live.c", "conformance_live.c.j2"),
    ("tests/conformance_liburing.c", "conformance_liburing.c.j2"),
    ("man/man3/sr_{op}.3", "man3_op.j2"),
    ("man/man3/sr_prep_{helper}.3", "man3_helper.j2"),
    ("man/man7/safer-ring-ops.7", "man7_ops.j2"),
]


class TemplateError(Exception):
    pass


@functools.lru_cache(maxsize=4)
def environment(template_dir):
    """The Jinja environment (templates compile once per process)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # The few spellings a template applies to plain values (strings, versions, name lists).
    env.globals.update(gen_abi=GEN_ABI, mask=cnames.mask)
    env.filters["cstr"] = cnames.c_string
    env.filters["cstr_or_null"] = cnames.c_string_or_null
    env.filters["kcode"] = cnames.kernel_code
    env.filters["roff"] = roff.text
    env.filters["roff_code"] = roff.code
    env.filters["synopsis"] = roff.synopsis
    env.globals["man_name"] = roff.name_line
    return env


def render_all(spec, plan, template_dir, only=()):
    env = environment(template_dir)
    ref = reference.Reference(spec, plan)
    outputs = {}
    for pattern, tname in OUTPUTS:
        if "{op}" in pattern:
            each = [(pattern.format(op=o.name), {"o": o}) for o in spec.ops]
        elif "{helper}" in pattern:
            each = [(pattern.format(helper=h.name), {"h": h}) for h in spec.helpers]
        else:
            each = [(pattern, {})]
        for rel, extra in each:
            if only and rel not in only and os.path.basename(rel) not in only:
                continue
            outputs[rel] = _render(env, template_dir, tname, dict(spec=spec, plan=plan, ref=ref, output=rel,
                                                                  template=tname, **extra))
    return outputs


def _render(env, template_dir, tname, context):
    try:
        tmpl = env.get_template(tname)
        return tmpl.render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{os.path.join(template_dir, e.filename or tname)}:{e.lineno}:1: error: {e.message}")
    except jinja2.UndefinedError as e:
        raise TemplateError(f"{_template_pos(e, template_dir, tname)}: error: {e.message}")


def _template_pos(exc, template_dir, tname):
    """Find the template line in the traceback of a render-time error."""
    tb = exc.__traceback__
    pos = f"{os.path.join(template_dir, tname)}:1:1"
    while tb:
        fn = tb.tb_frame.f_code.co_filename
        if fn.endswith(".j2"):
            pos = f"{fn}:{tb.tb_lineno}:1"
        tb = tb.tb_next
    return pos


def write_all(outputs, out_dir):
    """Write each output through a temporary file; skip unchanged ones."""
    changed = []
    for rel, text in sorted(outputs.items()):
        path = os.path.join(out_dir, rel)
        try:
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".gen-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        changed.append(rel)
    return changed
