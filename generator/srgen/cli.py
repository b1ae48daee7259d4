# SPDX-License-Identifier: MIT
"""Command line: load -> validate -> model -> render -> write (all or nothing)."""
import argparse
import os
import sys

from . import loader, model, render
from .errors import SpecError
from .schema import Schema


def load_spec(spec_dir, display_dir=None):
    """Load and check spec_dir/{schema,ring,ops}.yaml; return the model."""
    shown = display_dir if display_dir is not None else spec_dir

    def path(name):
        return os.path.join(spec_dir, name), os.path.join(shown, name)

    p, d = path("schema.yaml")
    schema = Schema(loader.load(p, d))
    nodes = {}
    for name in ("ring.yaml", "ops.yaml"):
        p, d = path(name)
        node = loader.load(p, d)
        schema.check_file(name, node)
        nodes[name] = node
    return model.build(nodes["ring.yaml"], nodes["ops.yaml"],
                       [os.path.join(shown, n) for n in ("ops.yaml", "ring.yaml")])


def main(argv):
    ap = argparse.ArgumentParser(prog="gen.py", description="Generate safer-ring's C API from the opcode spec.")
    ap.add_argument("--spec", default="spec", help="spec directory (default: spec)")
    ap.add_argument("--out", default="generated", help="output directory (default: generated)")
    ap.add_argument("--templates", default=os.path.join(os.path.dirname(__file__), "..", "..", "templates"),
                    help="template directory")
    ap.add_argument("--oracle", default="tests/oracle/opcodes.tsv",
                    help="reference opcodes.tsv for the conformance test (default: %(default)s)")
    ap.add_argument("--only", action="append", default=[], help="render only these outputs (by name)")
    ap.add_argument("--list", action="store_true", help="list output files and exit")
    args = ap.parse_args(argv)
    try:
        spec = load_spec(args.spec)
        outputs = render.render_all(spec, args.templates, args.oracle, args.only)
    except SpecError as e:
        print(e, file=sys.stderr)
        return 1
    except render.TemplateError as e:
        print(e, file=sys.stderr)
        return 1
    if args.list:
        for rel in outputs:
            print(rel)
        return 0
    changed = render.write_all(outputs, args.out)
    for rel in changed:
        print(f"  GEN     {os.path.join(args.out, rel)}")
    return 0
