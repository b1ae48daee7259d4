#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Entry point: python3 generator/gen.py --help"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from srgen.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
