"""The one base class of user errors: bad input files, options, designs or configs.

The CLIs turn a `DnaError` into one line on stderr and exit code 2; any other exception
is a bug and keeps its traceback. Subclasses name the file and field at fault and, where
a loader validates, list every problem at once.
"""
from __future__ import annotations


class DnaError(ValueError):
    """A user error; the message names the file and field at fault."""


class ProblemsError(DnaError):
    """Several problems found at once; `problems` keeps them, the message joins them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))
