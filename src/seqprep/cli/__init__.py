"""The ``seqprep`` command line.

Subcommands live in their own modules (``seqprep._cli_*``) and are imported only
when they run, so ``seqprep --help`` stays fast. Every :class:`SeqprepError` is
caught here once: its message goes to stderr, without a traceback, and the exit
code is 2 (bad input) -- or 1 for findings such as an audit that found leakage.
"""

from __future__ import annotations

from ._main import cli, main

__all__ = [
    "cli",
    "main",
]
