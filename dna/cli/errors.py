"""The `dna` commands' error policy: a user error is one line on stderr and exit code 2."""
from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import click

from dna import api
from dna.cost.target import TargetError


def user_errors(fn: Callable) -> Callable:
    """Print a user error as one line on stderr and exit 2, instead of a traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (*api.USER_ERRORS, TargetError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)
    return wrapper
