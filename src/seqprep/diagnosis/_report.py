"""What the doctor reports: a diagnosis, one row per layer, and the report that holds them."""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["Diagnosis", "DoctorReport", "LayerRow", "format_shape"]

Shape = Any  # tuple of int (a tensor), a tuple of shapes (a tuple output), or None


class Diagnosis(NamedTuple):
    """What went wrong (or looks wrong) and how to fix it.

    Attributes
    ----------
    code : str
        Stable identifier of the rule, e.g. ``"CHANNELS_LAST_TO_CONV1D"``.
    layer : str or None
        Name of the layer concerned (``None`` when the problem is not in a layer).
    message : str
        What happened, with the shapes involved.
    fix : str
        The concrete change to make.
    """

    code: str
    layer: str | None
    message: str
    fix: str


class LayerRow(NamedTuple):
    """One call of one layer in the forward pass: ``(name, type, input_shape, output_shape, n_params)``."""

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    n_params: int


def format_shape(shape: Shape) -> str:
    """Format a recorded shape: ``(2, 30, 4)``, ``tuple[(2, 30, 8), ...]`` or ``-``.

    Examples
    --------
    >>> format_shape((2, 30, 4))
    '(2, 30, 4)'
    >>> format_shape(((2, 30, 8), ((1, 2, 8), (1, 2, 8))))
    'tuple[(2, 30, 8), tuple[(1, 2, 8), (1, 2, 8)]]'
    """
    if shape is None:
        return "-"
    if all(isinstance(d, numbers.Integral) or d is None for d in shape):
        dims = ", ".join("None" if d is None else str(int(d)) for d in shape)
        return f"({dims},)" if len(shape) == 1 else f"({dims})"
    return "tuple[" + ", ".join(format_shape(s) for s in shape) + "]"


def _brief(shape: Shape) -> str:
    """Table form: a tuple output (LSTM's ``(out, (h, c))``) shows its first tensor only."""
    if shape and not all(isinstance(d, numbers.Integral) or d is None for d in shape):
        return f"tuple[{_brief(shape[0])}, ...]"
    return format_shape(shape)


@dataclass
class DoctorReport:
    """Result of :func:`doctor`.

    Attributes
    ----------
    rows : list of LayerRow
        One row per layer call, in execution order: ``(name, type, input shape,
        output shape, n_params)``. On failure the last row is the failing layer
        (its output shape is ``None``).
    ok : bool
        True when the forward pass went through.
    error : str or None
        The original exception text (``None`` when ``ok``).
    diagnosis : Diagnosis or None
        Why the pass failed and how to fix it (``None`` when ``ok``).
    warnings : list of Diagnosis
        Problems that did not crash the pass (e.g. ``RNN_NOT_BATCH_FIRST``).
    framework : str
        ``"torch"`` or ``"keras"``.
    input_shape : tuple of int
        Shape of the batch that was fed.
    output_shape : tuple of int or None
        Shape of the model's output when ``ok``.
    input_shapes : dict of str to tuple of int
        For a dict batch, the shape under each key (``input_shape`` is then that of ``"past"``).
    """

    rows: list[LayerRow]
    ok: bool
    error: str | None = None
    diagnosis: Diagnosis | None = None
    warnings: list[Diagnosis] = field(default_factory=list)
    framework: str = "torch"
    input_shape: tuple[int, ...] = ()
    output_shape: Shape = None
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        """Parameters of the layers in the table (each layer counted once)."""
        seen: dict[str, int] = {}
        for row in self.rows:
            seen.setdefault(row.name, row.n_params)
        return sum(seen.values())

    def table(self) -> str:
        """The layer table as aligned text."""
        header = ("Layer", "Type", "Input shape", "Output shape", "Params")
        body = [
            (r.name, r.type, _brief(r.input_shape), _brief(r.output_shape) if r.output_shape else "FAILED",
             f"{r.n_params:,}")
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(5)]

        def fmt(line: Sequence[str]) -> str:
            cells = [c.ljust(w) for c, w in zip(line[:4], widths[:4], strict=True)]
            return "  ".join([*cells, line[4].rjust(widths[4])]).rstrip()

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        lines = [fmt(header), rule, *(fmt(line) for line in body), rule]
        lines.append(f"Total params: {self.n_params:,}")
        return "\n".join(lines)

    def __str__(self) -> str:
        batch = (", ".join(f"{k} {format_shape(v)}" for k, v in self.input_shapes.items()) if self.input_shapes
                 else format_shape(self.input_shape))
        title = f"seqprep doctor: {self.framework} model, batch {batch}"
        lines = [title, "", self.table(), ""] if self.rows or self.ok else [title, ""]
        if self.ok:
            given = "dict batch" if self.input_shapes else format_shape(self.input_shape)
            lines.append(f"OK: forward pass {given} -> {format_shape(self.output_shape)}")
        else:
            where = f" in layer {self.diagnosis.layer!r}" if self.diagnosis and self.diagnosis.layer else ""
            lines.append(f"FAILED{where}: {_first_line(self.error or '')}")
            if self.diagnosis is not None:
                lines += [f"Diagnosis [{self.diagnosis.code}]: {self.diagnosis.message}", f"Fix: {self.diagnosis.fix}"]
        for w in self.warnings:
            where = f" ({w.layer})" if w.layer else ""
            lines += [f"Warning [{w.code}]{where}: {w.message}", f"  Fix: {w.fix}"]
        return "\n".join(lines)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _clean(text: str) -> str:
    return _ANSI.sub("", text).strip()


def _first_line(text: str) -> str:
    """The informative line of an error text (Keras wraps it in 'Exception encountered ...')."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if not ln.startswith("Exception encountered when calling"):
            return ln
    return lines[0] if lines else ""


def _shape_of(obj: Any) -> Shape:
    if hasattr(obj, "shape") and not isinstance(obj, type):
        try:
            return tuple(None if d is None else int(d) for d in obj.shape)
        except TypeError:
            return None
    if isinstance(obj, (tuple, list)):
        return tuple(_shape_of(o) for o in obj)
    return None


