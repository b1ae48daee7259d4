# SPDX-License-Identifier: MIT
"""Compiler-style diagnostics: FILE:LINE:COL: error: MESSAGE."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    file: str
    line: int  # 1-based
    col: int   # 1-based

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"


class SpecError(Exception):
    """A problem in the spec, located at the node that caused it."""

    def __init__(self, loc, msg, hint=None):
        super().__init__(msg)
        self.loc = loc
        self.msg = msg
        self.hint = hint

    def __str__(self):
        text = f"{self.loc}: error: {self.msg}"
        if self.hint:
            text += f"\n{self.loc}: note: {self.hint}"
        return text
