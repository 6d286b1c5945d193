"""The one base class of user errors: bad input files, options, designs or configs.

The CLIs turn a `DnaError` into one line on stderr and exit code 2; any other exception
is a bug and keeps its traceback. Subclasses name the file and field at fault (and list
every problem at once where they can).
"""
from __future__ import annotations


class DnaError(ValueError):
    """A user error; the message names the file and field at fault."""
