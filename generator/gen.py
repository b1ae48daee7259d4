#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Entry point: python3 generator/gen.py --help"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import jinja2  # noqa: F401
    import yaml  # noqa: F401
except ImportError as e:
    sys.stderr.write(f"gen.py: {e.name} is missing for {sys.executable}.\n"
                     "On Debian: sudo apt-get install python3-jinja2 python3-yaml "
                     "(and run with /usr/bin/python3), or run `make deps`.\n")
    sys.exit(1)

from srgen.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
