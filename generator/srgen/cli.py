# SPDX-License-Identifier: MIT
"""Command line: load -> schema -> build -> plan -> C names -> render -> write (all or nothing)."""
import argparse
import os
import sys

from . import build, cnames, loader, oracle, plan, render
from .errors import SpecError
from .schema import Schema


def load_spec(spec_dir, schema_path=None):
    """Load and check spec_dir/{ring,ops}.yaml against the schema; return the model."""
    def path(name):
        return os.path.join(spec_dir, name), os.path.normpath(os.path.join(spec_dir, name))

    schema_path = schema_path or os.path.join(spec_dir, "schema.yaml")
    schema = Schema(loader.load(schema_path, os.path.normpath(schema_path)))
    nodes = {}
    for name in ("ring.yaml", "ops.yaml"):
        p, d = path(name)
        node = loader.load(p, d)
        schema.check_file(name, node)
        nodes[name] = node
    # Generated files name their sources relative to where the generator
    # runs (the top of the tree): no absolute paths in the output.
    return build.build(nodes["ring.yaml"], nodes["ops.yaml"],
                       [os.path.relpath(os.path.join(spec_dir, n)) for n in ("ops.yaml", "ring.yaml")])


def main(argv):
    ap = argparse.ArgumentParser(prog="gen.py", description="Generate safer-ring's C API from the opcode spec.")
    ap.add_argument("--spec", default="spec", help="spec directory with ops.yaml and ring.yaml (default: spec)")
    ap.add_argument("--schema", default=None, help="schema file (default: SPEC/schema.yaml)")
    ap.add_argument("--out", default="generated", help="output directory (default: generated)")
    ap.add_argument("--templates", default=os.path.join(os.path.dirname(__file__), "..", "..", "templates"),
                    help="template directory")
    ap.add_argument("--oracle", default=None,
                    help="reference opcodes.tsv for the conformance test (variants.tsv beside it), "
                         "or 'none' (default: SPEC/oracle/opcodes.tsv)")
    ap.add_argument("--only", action="append", default=[], help="render only these outputs (by name)")
    ap.add_argument("--list", action="store_true", help="list output files and exit")
    args = ap.parse_args(argv)
    try:
        spec = load_spec(args.spec, args.schema)
        oracle_path = args.oracle or os.path.join(args.spec, "oracle", "opcodes.tsv")
        ref = oracle.load(None if oracle_path == "none" else oracle_path)
        spec_c, plan_c = cnames.present(spec, plan.make(spec, ref))
        outputs = render.render_all(spec_c, plan_c, args.templates, args.only)
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
