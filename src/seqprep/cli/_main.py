"""The ``seqprep`` command group: lazy subcommands and the one error boundary."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from .._version import __version__
from ..exceptions import LeakageError, SeqprepError

__all__ = ["main", "cli"]

# name -> (module, attribute, one-line help). Modules are imported lazily.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("seqprep.cli._train", "demo", "Run the end-to-end demo on the embedded weather data."),
    "train": ("seqprep.cli._train", "train", "Train a reference CNN-LSTM on your CSV/Parquet or .ts data."),
    "evaluate": ("seqprep.cli._train", "evaluate", "Score a saved run on its test part."),
    "predict": ("seqprep.cli._train", "predict", "Predict new data with a saved run."),
    "windows": ("seqprep.cli._data", "windows_cmd", "Build windows from a file and describe them."),
    "check": ("seqprep.cli._audit", "check", "Check a CSV/Parquet file for data problems."),
    "audit": ("seqprep.cli._audit", "audit_cmd", "Audit arrays you built yourself for leakage."),
    "doctor": ("seqprep.cli._doctor", "doctor_cmd", "Explain why a model rejects a batch."),
    "prepare": ("seqprep.cli._prepare", "prepare", "Write scaled, windowed shards to disk (out of core)."),
}


class _LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

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

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a SeqprepError becomes one line on stderr and exit code 2 (1 for leakage)."""
        try:
            return super().invoke(ctx)
        except LeakageError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except SeqprepError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="seqprep")
def cli() -> None:
    """seqprep: leak-free, shape-correct windows for CNN-LSTM and other sequence models."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the console script: run the CLI, turning errors into one line."""
    try:
        code = cli.main(args=argv, prog_name="seqprep", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
        return None
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    except LeakageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except SeqprepError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ImportError as exc:  # an optional extra is missing
        missing = getattr(exc, "name", None) or str(exc)
        click.echo(
            f"error: this command needs the optional dependency {missing!r}. "
            "Install it with: pip install 'seqprep[all]'",
            err=True,
        )
        sys.exit(1)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
