"""The ``seqprep`` command group: lazy subcommands and the one error boundary.

Every failure a user can cause ends here as ONE line on stderr and an exit code:

* 2: bad input -- a :class:`~seqprep.exceptions.SeqprepError`, a usage error, and the expected
  failures of the world outside: a file that cannot be read or written (``OSError``: missing,
  a folder where a file is expected, no space left, ...), text that is not UTF-8, a Parquet file
  that pyarrow cannot read, a table pandas cannot parse, a number too large, memory exhausted;
* 1: a finding (an audit or check that found an error, :class:`~seqprep.exceptions.LeakageError`);
* 3: an unexpected exception (a bug): one line naming it and pointing to ``--debug``;
* 130: interrupted (Ctrl-C).

``seqprep --debug COMMAND ...`` (or ``SEQPREP_DEBUG=1``) prints the traceback as well.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys
import traceback
import warnings
from typing import Any, NoReturn

import click

from .._version import __version__
from ..exceptions import LeakageError, SeqprepError, SeqprepWarning

__all__ = ["main", "cli"]

# name -> (module, attribute, one-line help). Modules are imported lazily.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("seqprep.cli._train", "demo", "Run the end-to-end demo on the embedded weather data."),
    "train": ("seqprep.cli._train", "train", "Train a reference CNN-LSTM on your CSV/Parquet/.tsf or .ts data."),
    "evaluate": ("seqprep.cli._train", "evaluate", "Score a saved run on its test part."),
    "predict": ("seqprep.cli._train", "predict", "Predict new data with a saved run."),
    "windows": ("seqprep.cli._data", "windows_cmd", "Build windows from a file and describe them."),
    "check": ("seqprep.cli._audit", "check", "Check a CSV/Parquet/.tsf file for data problems."),
    "audit": ("seqprep.cli._audit", "audit_cmd", "Audit arrays you built yourself for leakage."),
    "doctor": ("seqprep.cli._doctor", "doctor_cmd", "Explain why a model rejects a batch."),
    "prepare": ("seqprep.cli._prepare", "prepare", "Write scaled, windowed shards to disk (out of core)."),
}

EXIT_BAD_INPUT = 2
EXIT_FINDING = 1
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

_OS_FIX = {
    errno.ENOSPC: "no space left on the device. Free some space or write to another disk (--out).",
    errno.EDQUOT: "the disk quota is exceeded. Free some space or write to another disk (--out).",
    errno.EISDIR: "it is a folder, not a file. Pass the path of a file.",
    errno.ENOTDIR: "a part of the path is a file, not a folder. Choose a path whose parents are folders.",
    errno.ENOENT: "no such file or folder. Check the path.",
    errno.EEXIST: "it already exists. Remove it or choose another path.",
    errno.EACCES: "permission denied. Check the file's permissions or choose another path.",
    errno.EPERM: "operation not permitted. Check the file's permissions or choose another path.",
    errno.EROFS: "the file system is read-only. Write to another disk.",
    errno.ENAMETOOLONG: "the file name is too long. Choose a shorter path.",
}


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _os_message(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    other = f" -> {exc.filename2}" if getattr(exc, "filename2", None) else ""
    what = _OS_FIX.get(exc.errno or -1) or f"{exc.strerror or exc}. Check the path and the disk."
    return f"{where}{other}: {what}" if where else what[0].upper() + what[1:]


def _describe(exc: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for an exception that reached the command line."""
    module = type(exc).__module__ or ""
    if isinstance(exc, LeakageError):
        return EXIT_FINDING, str(exc)
    if isinstance(exc, SeqprepError):
        return EXIT_BAD_INPUT, str(exc)
    if isinstance(exc, click.UsageError):
        cmd = exc.ctx.command_path if exc.ctx is not None else "seqprep"
        return EXIT_BAD_INPUT, f"{exc.format_message()} Run '{cmd} --help' for the options."
    if isinstance(exc, click.ClickException):
        return EXIT_BAD_INPUT, exc.format_message()
    if isinstance(exc, UnicodeError):
        return EXIT_BAD_INPUT, (f"a file is not UTF-8 text ({exc}). Save it as UTF-8, or read it with pandas "
                                "(encoding=...) and pass the DataFrame to the Python API.")
    if isinstance(exc, OSError):
        return EXIT_BAD_INPUT, _os_message(exc)
    if isinstance(exc, MemoryError):
        return EXIT_BAD_INPUT, (f"not enough memory ({exc or 'an allocation failed'}). Use smaller inputs, a "
                                "smaller shape or batch, or the out-of-core `seqprep prepare`.")
    if isinstance(exc, OverflowError):
        return EXIT_BAD_INPUT, f"a number is too large ({exc}). Use a smaller value."
    if module.startswith("pyarrow"):
        return EXIT_BAD_INPUT, f"could not read the Parquet data ({exc}). Check that the file is complete Parquet."
    if module.startswith(("pandas", "dateutil")) and isinstance(exc, ValueError):
        return EXIT_BAD_INPUT, f"could not parse the data ({exc}). Check the file's format."
    return EXIT_INTERNAL, (f"unexpected {type(exc).__name__}: {exc}. This is a bug or an input seqprep does "
                           "not check yet; rerun with 'seqprep --debug ...' for the traceback and report it.")


def _fail(exc: BaseException, debug: bool) -> NoReturn:
    code, text = _describe(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"error: {_one_line(text)}", err=True)
    sys.exit(code)


class _LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use; its ``main`` is the error boundary."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (mod, _, _) in _COMMANDS.items() if _module_exists(mod))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module_name, attr, _ = _COMMANDS[cmd_name]
        if not _module_exists(module_name):
            return None
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the CLI; every exception becomes one line on stderr and an exit code (see the module)."""
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv[: _first_command(argv)] or os.environ.get("SEQPREP_DEBUG", "") not in ("", "0")
        try:
            code = super().main(args=argv, prog_name=prog_name or "seqprep", complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                raise
            click.echo(f"error: {_one_line(str(exc.code))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except ModuleNotFoundError as exc:  # an optional extra is missing
            if not _is_optional_dependency(exc):
                _fail(exc, debug)
            if debug:
                traceback.print_exception(exc, file=sys.stderr)
            click.echo(f"error: this command needs the optional dependency {exc.name!r}. "
                       "Install it with: pip install 'seqprep[all]'", err=True)
            sys.exit(1)
        except Exception as exc:  # noqa: BLE001 - the one boundary: each kind is mapped in _describe
            _fail(exc, debug)
        if isinstance(code, int) and code:
            sys.exit(code)
        if standalone_mode:
            sys.exit(0)
        return code


_OPTIONAL = {"torch", "keras", "tensorflow", "dask", "distributed", "matplotlib", "pyarrow", "rich", "jax"}


def _is_optional_dependency(exc: ModuleNotFoundError) -> bool:
    return (exc.name or "").split(".")[0] in _OPTIONAL


def _first_command(argv: list[str]) -> int:
    """Index of the subcommand in *argv* (the global options come before it)."""
    for i, token in enumerate(argv):
        if not token.startswith("-"):
            return i
    return len(argv)


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="seqprep")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error (also SEQPREP_DEBUG=1).")
def cli(debug: bool) -> None:
    """seqprep: leak-free, shape-correct windows for CNN-LSTM and other sequence models.

    Exit codes: 0 success, 1 a finding (audit/check found an error), 2 bad input, 3 unexpected error
    (rerun with --debug and report it), 130 interrupted.
    """


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the console script: run the CLI, turning errors into one line."""
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return cli.main(args=argv, prog_name="seqprep")
    finally:
        warnings.showwarning = previous


_default_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Print seqprep's own warnings as one ``warning: ...`` line (no source path: the user did not write it).

    Other libraries' warnings keep Python's format, which says where they came from.
    """
    if isinstance(category, type) and issubclass(category, SeqprepWarning):
        click.echo(f"warning: {message}", err=True)
        return
    _default_showwarning(message, category, filename, lineno, file, line)
