"""``seqprep doctor``: build a model from a Python factory and explain how it handles a batch shape."""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from .._validation import INT64_MAX, check_int, param_error
from ..exceptions import DataError, MemoryBudgetError, SeqprepError
from ._options import INT64

__all__ = ["doctor_cmd"]


def parse_shape(text: str) -> tuple[int, ...]:
    """Parse ``"32,30,4"`` (or ``"(32, 30, 4)"``) into a tuple of positive ints.

    Examples
    --------
    >>> parse_shape("32,30,4")
    (32, 30, 4)
    """
    parts = [p.strip() for p in text.replace("(", "").replace(")", "").split(",")]
    if parts and parts[-1] == "":
        parts.pop()  # "(32, 30, 4,)"
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise param_error("--shape", "comma-separated positive integers, batch size first", text,
                          "Use e.g. --shape 32,30,4 for (N=32, T=30, C=4).")
    need = 8 * math.prod(shape)  # a float batch of this shape (float64 at most)
    if need > INT64_MAX or need > _available_memory():
        raise MemoryBudgetError(
            f"`--shape` {text} needs {need:,} bytes for one batch, more than the memory available. Use a small "
            "batch to diagnose the model, e.g. --shape 2,30,4: the doctor only needs the layers' shapes."
        )
    return shape


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 1 << 62


def load_factory(target: str) -> Any:
    """Import ``FILE.py:NAME`` or ``package.module:NAME`` and return the object called NAME.

    A file path is executed as a Python module (with its folder on ``sys.path``
    while it is imported), exactly as ``python FILE.py`` would run its top level.
    """
    source, sep, attr = target.rpartition(":")
    if not sep or not source or not attr.isidentifier():
        raise param_error("MODULE:FACTORY", "of the form path/to/models.py:build or package.module:build", target,
                          "Name the file or module and the function that returns the model, separated by ':'.")
    path = Path(source)
    if source.endswith(".py") or path.exists():
        if not path.is_file():
            what = "a folder" if path.is_dir() else "missing"
            raise DataError(f"`MODULE:FACTORY` names {source!r}, which is {what}, not a Python file. Check the path.")
        name = f"_seqprep_doctor_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise param_error("MODULE:FACTORY", "a Python file", source)
        module = importlib.util.module_from_spec(spec)
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)
        try:
            _run_user_code(lambda: spec.loader.exec_module(module), f"importing {source}", source)  # type: ignore
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
    else:
        try:
            found = importlib.util.find_spec(source)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise param_error("MODULE:FACTORY", "an importable module or a .py file", source,
                              f"No module named {source!r}; pass a file path such as ./models.py:build.")
        module = _run_user_code(lambda: importlib.import_module(source), f"importing {source}", source)
    if not hasattr(module, attr):
        names = sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise param_error("MODULE:FACTORY", f"a name defined in {source}", attr,
                          f"Callables there: {', '.join(names) or 'none'}.")
    return getattr(module, attr)


@click.command("doctor")
@click.argument("target", metavar="MODULE:FACTORY")
@click.option("--shape", "shape", default=None, help="Batch shape, batch size first, e.g. 32,30,4.")
@click.option("--data", "data", type=click.Path(), default=None,
              help="A .npy file of inputs (no pickle): the first --batch-size samples are used.")
@click.option("--batch-size", default=2, show_default=True, type=INT64, help="Samples taken from --data.")
@click.pass_context
def doctor_cmd(ctx: click.Context, target: str, shape: str | None, data: str | None, batch_size: int) -> None:
    r"""Explain why a model rejects a batch: layer table, failing layer and the fix.

    MODULE:FACTORY names a function that takes no arguments and returns a
    torch.nn.Module or a Keras 3 model, e.g. ``mymodels.py:build`` or
    ``mypackage.models:build``. WARNING: the given Python file or module is
    imported and executed, with your permissions; only run code you trust.

    Exit status: 0 when the forward pass works, 1 when it fails (the diagnosis is
    printed), 2 for bad input.

    \b
    Example:
        seqprep doctor mymodels.py:build --shape 32,30,4
    """
    from ..diagnosis import doctor

    if (shape is None) == (data is None):
        raise param_error("--shape", "given, or --data, but not both", shape,
                          "Use --shape 32,30,4 or --data X.npy.")
    batch_size = check_int(batch_size, "--batch-size", minimum=1)
    batch: Any = parse_shape(shape) if shape is not None else _load_npy(data)
    factory = load_factory(target)
    if not callable(factory):
        raise param_error("MODULE:FACTORY", "a function that returns a model", factory,
                          "Point at a function (e.g. build), not at an instance.")
    model = _run_user_code(factory, f"calling {target}()", target)
    report = doctor(model, batch, batch_size=batch_size)
    click.echo(str(report))
    if not report.ok:
        ctx.exit(1)


def _reraise(exc: BaseException) -> None:
    raise exc


def _run_user_code(call: Any, what: str, source: str) -> Any:
    """Run the user's code; any way it fails (even sys.exit) becomes one DataError naming the file."""
    try:
        return call()
    except SeqprepError:
        raise
    except KeyboardInterrupt:
        raise
    except SyntaxError as exc:
        raise DataError(
            f"{what} failed: {exc.filename or source}, line {exc.lineno}: {exc.msg}. Fix the syntax error "
            "(the file must be valid UTF-8 Python)."
        ) from None
    except SystemExit as exc:
        raise DataError(
            f"{what} called sys.exit({exc.code!r}). Remove the call, or put it under "
            "if __name__ == '__main__': so that importing the file does not exit."
        ) from None
    except ModuleNotFoundError as exc:
        raise DataError(
            f"{what} failed: it imports {exc.name!r}, which is not installed. Install it, or fix the import."
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's code: bad input, with its type and message
        text = " ".join(str(exc).split())[:300]
        raise DataError(f"{what} raised {type(exc).__name__}: {text}. Fix the model code.") from None


def _load_npy(path: str | None) -> np.ndarray:
    from ..io import load_npy

    return load_npy(path, "--data")
