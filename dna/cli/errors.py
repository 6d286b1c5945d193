"""The commands' error policy: a user error is one line on stderr and exit code 2.

A user error is a `dna.errors.DnaError` (every user-error class of dna/ and hwgen/ derives
from it); any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click

from dna.errors import DnaError


def user_errors(fn: Callable) -> Callable:
    """Print a user error as one line on stderr and exit 2, instead of a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DnaError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
    return wrapper
