"""Internal: forward passes with shape recording, and the diagnosis rules of :mod:`seqprep.diagnosis`.

Each rule looks at the failing layer, its type and the input shape it received
(plus the layers already run) and returns a :class:`~seqprep.diagnosis.Diagnosis`
whose ``fix`` is phrased for CNN-LSTM models. Codes:

=========================  ==========================================================
CHANNELS_LAST_TO_CONV1D    (N, T, C) batch fed to a channels-first ``nn.Conv1d``
CHANNELS_FIRST_TO_RNN      (N, C, T) batch fed straight to a batch-first RNN
CHANNELS_FIRST_TO_KERAS    (N, C, T) batch fed to a channels-last Keras model
CONV_OUTPUT_TO_RNN         conv output (N, C, L) fed to an LSTM without a permute
FEATURE_MISMATCH           in_channels / input_size / in_features != the data's size
MISSING_FEATURE_AXIS       2-D (N, L) batch where (N, L, 1) / (N, 1, L) is needed
LOOKBACK_TOO_SHORT         the conv + pooling stack shrinks the time axis below 1
LOOKBACK_MISMATCH          a Keras ``Input`` was built for another lookback
SUBWINDOW_NOT_DIVISIBLE    (N, S, T//S, C) reshape with T % S != 0
SUBWINDOW_AXIS_MISSING     TimeDistributed(Conv1D) given (N, T, C) without sub-windows
SUBWINDOW_NOT_FOLDED       4-D sub-windows / 5-D frames fed to a layer without TimeDistributed
FRAMES_CHANNEL_ORDER       image frames in the wrong channel order for the Conv2d/Conv2D
RNN_TUPLE_OUTPUT           ``(output, (h, c))`` tuple passed on to the next layer
RNN_NO_SEQUENCES           a Keras RNN without ``return_sequences=True`` feeds another RNN
SEQUENCE_TO_HEAD           Linear head given the whole LSTM sequence
RANK_MISMATCH              wrong number of axes, no more specific rule
UNRECOGNISED               no rule matched: the shapes and the error are shown
RNN_NOT_BATCH_FIRST        warning: batch-first tensor given to a batch_first=False RNN
CATEGORY_OUT_OF_RANGE      an ``nn.Embedding`` got a code >= its size (dict batch: the key and column named)
CATEGORY_NOT_INTEGER       an ``nn.Embedding`` got float codes
=========================  ==========================================================

Dict batches checked against a model's declared inputs have the codes of
:mod:`seqprep.diagnosis.batches` (``DICT_KEY_MISSING``, ``KNOWN_ROWS``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import divisors
from ..exceptions import ShapeError
from ._report import Diagnosis, DoctorReport, LayerRow, _clean, _first_line, _shape_of, format_shape

__all__: list[str] = []  # internal module

_fs = format_shape


@dataclass
class _Call:
    name: str
    layer: Any
    in_shape: Any
    out_shape: Any = None
    done: bool = False


@dataclass
class _Ctx:
    framework: str
    model: Any
    calls: list[_Call]
    failing: _Call | None
    error: str
    batch_shape: tuple[int, ...]
    layout: str | None
    batch: Mapping[str, Any] | None = None  # the dict batch, when the batch is one

    @property
    def failed(self) -> _Call:
        """The failing call (the layer rules run only when a call failed)."""
        if self.failing is None:
            raise RuntimeError("a layer rule ran without a failing call")
        return self.failing




def _is_tensor_shape(s: Any) -> bool:
    return isinstance(s, tuple) and all(isinstance(d, int) or d is None for d in s)


def _tname(layer: Any) -> str:
    return type(layer).__name__


def _layout_note(ctx: _Ctx) -> str:
    return f" (your windows use layout={ctx.layout!r})" if ctx.layout else ""


# ---------------------------------------------------------------------------------------------
# length arithmetic of conv / pooling stacks


@dataclass
class _Op:
    """A layer that changes the time length: kernel k, stride s, padding p, dilation d."""

    name: str
    kind: str
    k: int
    s: int
    p: int
    d: int
    same: bool  # output length ceil(L / s) ('same' / 'causal' padding)

    def out_len(self, length: int) -> int:
        if self.same:
            return -(-length // self.s)
        return (length + 2 * self.p - self.d * (self.k - 1) - 1) // self.s + 1

    def min_in(self, out: int) -> int:
        if self.same:
            return (out - 1) * self.s + 1
        return max(1, (out - 1) * self.s + self.d * (self.k - 1) + 1 - 2 * self.p)


def _min_lookback(ops: list[_Op]) -> int:
    """Smallest input length for which every op of *ops* outputs at least one step.

    >>> _min_lookback([_Op("c1", "Conv1d", 5, 1, 0, 1, False), _Op("p1", "MaxPool1d", 2, 2, 0, 1, False)])
    6
    """
    need = 1
    for op in reversed(ops):
        need = op.min_in(need)
    return need


def _trace(ops: list[_Op], length: int) -> str:
    parts = [str(length)]
    for op in ops:
        length = op.out_len(length)
        parts.append(f"{max(length, 0)} ({op.kind} {op.name!r})")
        if length < 1:
            break
    return " -> ".join(parts)


def _first(value: Any) -> int:
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)


def _torch_ops(model: Any) -> list[_Op]:
    import torch.nn as nn

    ops = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv1d):
            same = m.padding == "same"
            pad = 0 if isinstance(m.padding, str) else _first(m.padding)
            ops.append(_Op(name, "Conv1d", _first(m.kernel_size), _first(m.stride), pad, _first(m.dilation), same))
        elif isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)):
            k = _first(m.kernel_size)
            stride = _first(m.stride) if m.stride not in (None, ()) else k
            dil = _first(getattr(m, "dilation", 1))
            ops.append(_Op(name, _tname(m), k, stride, _first(m.padding), dil, False))
    return ops


_K_CONV1D = ("Conv1D", "SeparableConv1D", "DepthwiseConv1D")
_K_POOL1D = ("MaxPooling1D", "AveragePooling1D")
_K_RNN = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D")


def _keras_layers(model: Any) -> list[Any]:
    layers = list(getattr(model, "layers", [model]))
    out = []
    for layer in layers:
        inner = getattr(layer, "layer", None) if _tname(layer) == "TimeDistributed" else None
        out.append(inner if inner is not None else layer)
    return out


def _keras_ops(model: Any) -> list[_Op]:
    ops = []
    for layer in _keras_layers(model):
        t = _tname(layer)
        if t in _K_CONV1D:
            ops.append(_Op(layer.name, t, _first(layer.kernel_size), _first(layer.strides), 0,
                           _first(layer.dilation_rate), layer.padding in ("same", "causal")))
        elif t in _K_POOL1D:
            ops.append(_Op(layer.name, t, _first(layer.pool_size), _first(layer.strides), 0, 1,
                           layer.padding == "same"))
    return ops


def _lookback_too_short(ctx: _Ctx, layer_name: str | None, ops: list[_Op], length: int | None) -> Diagnosis:
    minimum = _min_lookback(ops)
    kinds = "Conv1d/MaxPool1d" if ctx.framework == "torch" else "Conv1D/MaxPooling1D"
    if length is None:
        message = f"the time axis is too short for the {kinds} stack."
    else:
        message = (f"lookback {length} is too short for the {kinds} stack: the time axis goes "
                   f"{_trace(ops, length)}.")
    message += f" The minimum lookback for this model is {minimum}."
    fix = (f"Build windows with lookback >= {minimum} (seqprep.windows(..., lookback={minimum})), or shrink the "
           "stack: smaller kernel_size, fewer or smaller pooling layers, or padding='same'.")
    return Diagnosis("LOOKBACK_TOO_SHORT", layer_name, message, fix)


_TOO_SHORT = (
    "kernel size can't be greater than actual input size",
    "output size is too small",
    "invalid computed output size",
    "would be zero or negative",
    "would be negative",
)


def _is_too_short(error: str) -> bool:
    low = error.lower()
    return any(p in low for p in _TOO_SHORT)


# ---------------------------------------------------------------------------------------------
# shared wording


def _lost_axis_between(ctx: _Ctx, t: str, s: tuple) -> Diagnosis | None:
    """A 2-D tensor reaching a sequence layer AFTER other layers ran: lost between them, not in the batch."""
    done = [c for c in ctx.calls if c.done and c is not ctx.failing]
    if not done or len(ctx.batch_shape) < 3:
        return None
    prev = done[-1]
    name = ctx.failing.name if ctx.failing is not None else None
    return Diagnosis(
        "RANK_MISMATCH", name,
        f"{t} '{name}' got a 2-D tensor {_fs(s)}, but the batch {_fs(ctx.batch_shape)} has its axes and the previous "
        f"layer '{prev.name}' returned {_fs(prev.out_shape)}: the time axis was lost between the two layers "
        "(a reshape, view, flatten or indexing in forward()).",
        f"keep three axes between '{prev.name}' and '{name}': for an LSTM after a Conv1d, "
        "x.permute(0, 2, 1) turns (N, C, L) into (N, L, C); do not flatten or reshape to (N, C*L) before it.",
    )


def _missing_feature_axis(name: str | None, t: str, s: tuple, conv_first: bool) -> Diagnosis:
    message = (f"{t} '{name}' got a 2-D batch {_fs(s)}: it has no feature axis (one univariate series per "
               "row, like ECG data). ")
    if conv_first:
        message += "PyTorch reads a 2-D tensor as ONE unbatched sample (C, L), not as a batch."
        fix = ("add a trailing axis: X[..., None] or seqprep.shapes.add_feature_axis(X) gives (N, L, 1); a "
               "channels-first Conv1d then wants (N, 1, L): X[:, None, :] (seqprep layout='NCT').")
    else:
        message += "A sequence layer wants (N, T, n_features)."
        fix = "add a trailing axis: X[..., None] or seqprep.shapes.add_feature_axis(X) gives (N, L, 1)."
    return Diagnosis("MISSING_FEATURE_AXIS", name, message, fix)


def _subwindow_not_divisible(name: str | None, T: int, S: int, C: int | None, where: str) -> Diagnosis:
    valid = ", ".join(str(d) for d in divisors(T))
    up = -(-T // S) * S
    shape = f"(N, {S}, {T}/{S}, {C if C is not None else 'C'})"
    message = (f"{where} splits each window into S={S} sub-windows {shape}, but lookback T={T} is not "
               f"divisible by S={S} (T % S = {T % S}).")
    fix = (f"Use S in {{{valid}}} (the valid sub-window counts for T={T}), or a lookback that is a multiple of "
           f"{S} (e.g. {up}); seqprep.windows(..., layout='NSTC', subsequences=S) checks this for you.")
    return Diagnosis("SUBWINDOW_NOT_DIVISIBLE", name, message, fix)


def _unrecognised(ctx: _Ctx) -> Diagnosis:
    f = ctx.failing
    done = [c for c in ctx.calls if c.done]
    prev = f" The previous layer '{done[-1].name}' returned {_fs(done[-1].out_shape)}." if done else ""
    if f is None:
        where = f"after layer '{done[-1].name}'" if done else "before the first layer"
        nxt = _next_layer(ctx, done[-1].layer if done else None)
        expects = f" The next layer, {nxt}." if nxt else ""
        return Diagnosis("UNRECOGNISED", None,
                         f"the forward pass failed outside any layer ({where}): {_first_line(ctx.error)}{prev}"
                         f"{expects}",
                         "Check the tensor operations in forward() between these layers against the shapes in the "
                         "table above.")
    return Diagnosis("UNRECOGNISED", f.name,
                     f"{_tname(f.layer)} '{f.name}' failed on input {_fs(f.in_shape)}: {_first_line(ctx.error)}{prev}",
                     "Compare this input shape with what the layer was built for (see the table above).")


def _next_layer(ctx: _Ctx, after: Any) -> str | None:
    """'Conv1d '1' expects (N, 4, L)'-style words for the torch leaf module after *after*, if known."""
    if ctx.framework != "torch":
        return None
    import torch.nn as nn

    leaves = [(n, m) for n, m in ctx.model.named_modules() if next(iter(m.children()), None) is None]
    ids = [id(m) for _, m in leaves]
    i = ids.index(id(after)) + 1 if after is not None and id(after) in ids else 0
    if i >= len(leaves):
        return None
    name, m = leaves[i]
    if isinstance(m, nn.Conv1d):
        want = f"(N, {m.in_channels}, L)"
    elif isinstance(m, nn.RNNBase):
        want = f"(N, T, {m.input_size})" if m.batch_first else f"(T, N, {m.input_size})"
    elif isinstance(m, nn.Linear):
        want = f"(N, {m.in_features})"
    else:
        return f"{_tname(m)} '{name}'"
    return f"{_tname(m)} '{name}', expects {want}"


# ---------------------------------------------------------------------------------------------
# PyTorch


def _main_shape(x: Mapping[str, Any]) -> tuple[int, ...]:
    main = x["past"] if "past" in x else next(iter(x.values()))
    return tuple(int(d) for d in main.shape)


def dict_report(x: Mapping[str, Any], diag: Diagnosis) -> DoctorReport:
    """The report of a dict batch refused before the pass (its keys do not fit the model's declared inputs)."""
    error = "the dict batch does not fit the model's declared inputs (model.input_spec); the model was not run"
    return DoctorReport(rows=[], ok=False, error=error, diagnosis=diag, framework="torch",
                        input_shape=_main_shape(x),
                        input_shapes={k: tuple(int(d) for d in v.shape) for k, v in x.items()})


def run_torch(model: Any, x: Any, layout: str | None) -> tuple[DoctorReport, BaseException | None]:
    """Run *model* on *x* (a tensor or a dict batch) with hooks on every leaf module; return report and exception."""
    import torch

    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    shapes: dict[str, tuple[int, ...]] = {}
    if isinstance(x, Mapping):
        x = {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v for k, v in x.items()}
        shapes = {k: tuple(int(d) for d in v.shape) for k, v in x.items()}
    calls: list[_Call] = []
    stack: list[_Call] = []
    handles = []

    def pre_hook(name: str) -> Any:
        def hook(module: Any, args: tuple) -> None:
            call = _Call(name, module, _shape_of(args[0]) if args else None)
            calls.append(call)
            stack.append(call)

        return hook

    def post_hook(module: Any, args: tuple, output: Any) -> None:
        if stack:
            call = stack.pop()
            call.out_shape, call.done = _shape_of(output), True

    was_training = model.training
    exc: BaseException | None = None
    out = None
    try:
        for name, module in model.named_modules():
            if next(iter(module.children()), None) is None:
                handles.append(module.register_forward_pre_hook(pre_hook(name or _tname(module))))
                handles.append(module.register_forward_hook(post_hook))
        model.eval()
        with torch.no_grad():
            out = model(x)
    except Exception as e:  # the user's model may raise anything: this is what we diagnose
        exc = e
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    rows = [LayerRow(c.name, _tname(c.layer), c.in_shape, c.out_shape, _torch_params(c.layer)) for c in calls]
    batch_shape = _main_shape(x) if isinstance(x, Mapping) else tuple(int(d) for d in x.shape)
    report = DoctorReport(rows=rows, ok=exc is None, framework="torch", input_shape=batch_shape, input_shapes=shapes)
    ctx = _Ctx("torch", model, calls, stack[-1] if (exc is not None and stack) else None,
               _clean(str(exc)) if exc is not None else "", batch_shape, layout)
    ctx.batch = x if isinstance(x, Mapping) else None
    report.warnings = _torch_warnings(ctx)
    if exc is None:
        report.output_shape = _shape_of(out)
        report.warnings += _head_warnings(ctx, report.output_shape)
    else:
        report.error = ctx.error or type(exc).__name__
        report.diagnosis = _diagnose_torch(ctx)
    return report, exc


def _torch_params(module: Any) -> int:
    try:
        return int(sum(p.numel() for p in module.parameters()))
    except ValueError:  # lazy modules before their first call
        return 0


def _torch_warnings(ctx: _Ctx) -> list[Diagnosis]:
    import torch.nn as nn

    found: list[Diagnosis] = []
    seen: set[tuple[str, str]] = set()
    n = ctx.batch_shape[0]
    for c in ctx.calls:
        s = c.in_shape
        if not c.done or not _is_tensor_shape(s):
            continue
        m = c.layer
        if isinstance(m, nn.RNNBase) and not m.batch_first and len(s) == 3 and s[0] == n and s[1] != n:
            key = ("RNN_NOT_BATCH_FIRST", c.name)
            if key not in seen:
                seen.add(key)
                found.append(Diagnosis(
                    "RNN_NOT_BATCH_FIRST", c.name,
                    f"{_tname(m)} '{c.name}' has batch_first=False, so it reads (T, N, F), but its input {_fs(s)} "
                    f"looks batch-first: axis 0 is the batch size ({n}). It runs without error, but it treats the "
                    f"{n} samples as time steps and the {s[1]} time steps as separate samples.",
                    f"use batch_first=True: nn.{_tname(m)}(..., batch_first=True) (or feed x.permute(1, 0, 2)).",
                ))
        elif isinstance(m, (nn.Conv1d, nn.RNNBase)) and len(s) == 2:
            key = ("MISSING_FEATURE_AXIS", c.name)
            if key not in seen:
                seen.add(key)
                diag = _missing_feature_axis(c.name, _tname(m), s, isinstance(m, nn.Conv1d))
                found.append(diag._replace(message=diag.message + " It did not crash, but the result is wrong."))
    return found


def _head_warnings(ctx: _Ctx, out_shape: Any) -> list[Diagnosis]:
    """A Linear/Dense head that maps every time step of an RNN output (3-D model output)."""
    done = [c for c in ctx.calls if c.done]
    if not done or not _is_tensor_shape(out_shape) or len(out_shape) != 3:
        return []
    last = done[-1]
    rnn_types = ("LSTM", "GRU", "RNN", "SimpleRNN")
    if _tname(last.layer) in ("Linear", "Dense") and any(_tname(c.layer) in rnn_types for c in done[:-1]):
        return [Diagnosis(
            "SEQUENCE_TO_HEAD", last.name,
            f"the head '{last.name}' is applied to every time step of the recurrent output, so the model returns "
            f"{_fs(out_shape)} (one prediction per step) instead of (N, outputs).",
            "for one prediction per window take the last step: out, _ = self.lstm(x); self.fc(out[:, -1, :]) "
            "(Keras: LSTM(..., return_sequences=False)). Ignore this if you want a sequence output.",
        )]
    return []


def _previous(ctx: _Ctx, types: tuple[type, ...]) -> _Call | None:
    for c in reversed(ctx.calls):
        if c.done and isinstance(c.layer, types):
            return c
    return None


def _diagnose_torch(ctx: _Ctx) -> Diagnosis:
    import torch.nn as nn

    f = ctx.failing
    if f is None:
        return _torch_outside(ctx)
    m, s, name, t = f.layer, f.in_shape, f.name, _tname(f.layer)
    if s is not None and not _is_tensor_shape(s):
        rnn = _previous(ctx, (nn.RNNBase,))
        if rnn is not None:
            return _rnn_tuple(ctx, rnn, f"{t} '{name}' was given a tuple {_fs(s)}")
        return _unrecognised(ctx)
    if s is None:
        return _unrecognised(ctx)
    if isinstance(m, nn.Conv1d):
        return _torch_conv1d(ctx, m, s)
    if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)) and _is_too_short(ctx.error):
        return _torch_too_short(ctx)
    if isinstance(m, nn.RNNBase):
        return _torch_rnn(ctx, m, s)
    if isinstance(m, nn.Conv2d):
        return _torch_conv2d(ctx, m, s)
    if isinstance(m, nn.Linear):
        return _torch_linear(ctx, m, s)
    if isinstance(m, nn.Embedding):
        return _torch_embedding(ctx, m, s)
    return _unrecognised(ctx)


def _torch_embedding(ctx: _Ctx, m: Any, s: tuple) -> Diagnosis:
    """Float codes, or codes outside ``0 .. num_embeddings - 1`` (named by key and column for a dict batch)."""
    name, n = ctx.failed.name, int(m.num_embeddings)
    if "scalar type" in ctx.error or "Float" in ctx.error or "Half" in ctx.error or "Double" in ctx.error:
        return Diagnosis(
            "CATEGORY_NOT_INTEGER", name,
            f"Embedding '{name}' was given float values {_fs(s)}; an embedding looks up integer codes.",
            "keep category codes as int64 (seqprep's dict batches do): cast only the float keys to float, "
            "never the whole batch.",
        )
    if "index out of range" not in ctx.error:
        return _unrecognised(ctx)
    where = ""
    for key, value in (ctx.batch or {}).items():
        if not key.endswith("_cat") or value.dtype.is_floating_point or value.numel() == 0:
            continue
        flat = value.reshape(-1, value.shape[-1])
        for j in range(flat.shape[1]):
            hi, lo = int(flat[:, j].max()), int(flat[:, j].min())
            if hi >= n or lo < 0:
                where = f" The batch's {key!r} column {j} holds codes {lo} .. {hi}."
                break
        if where:
            break
    return Diagnosis(
        "CATEGORY_OUT_OF_RANGE", name,
        f"Embedding '{name}' has {n} codes (0 .. {n - 1}) but was given a code outside that range: "
        f"'index out of range'.{where}",
        "size each embedding from the cardinalities of the windows it reads (windows.inputs['cardinalities'], "
        "code 0 = unknown), and encode every part with the same fitted Pipeline.",
    )


def _torch_too_short(ctx: _Ctx) -> Diagnosis:
    import torch.nn as nn

    first = next((c for c in ctx.calls if isinstance(c.layer, (nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d))), None)
    length = first.in_shape[-1] if first is not None and _is_tensor_shape(first.in_shape) else None
    return _lookback_too_short(ctx, ctx.failing.name if ctx.failing else None, _torch_ops(ctx.model), length)


def _torch_conv1d(ctx: _Ctx, m: Any, s: tuple) -> Diagnosis:
    import torch.nn as nn

    name, cin = ctx.failed.name, m.in_channels
    if len(s) == 2:
        return _lost_axis_between(ctx, "Conv1d", s) or _missing_feature_axis(name, "Conv1d", s, conv_first=True)
    if len(s) == 4:
        n, k, length, c = s
        return Diagnosis(
            "SUBWINDOW_NOT_FOLDED", name,
            f"Conv1d '{name}' got a 4-D batch {_fs(s)}: sub-windows (N, S={k}, T/S={length}, C={c}). A Conv1d takes "
            "3-D (N, C, L) input and does not loop over the sub-window axis.",
            f"fold the sub-windows into the batch: x.reshape(N * {k}, {length}, {c}).permute(0, 2, 1), run the CNN, "
            f"then reshape its output back to (N, {k}, features) for the LSTM (Keras: TimeDistributed).",
        )
    if len(s) != 3:
        return Diagnosis("RANK_MISMATCH", name, f"Conv1d '{name}' wants (N, C_in={cin}, L) but got {_fs(s)}.",
                         "Feed a 3-D (N, C, L) batch (seqprep layout='NCT').")
    if _is_too_short(ctx.error):
        return _torch_too_short(ctx)
    if s[1] != cin and s[2] == cin:
        return Diagnosis(
            "CHANNELS_LAST_TO_CONV1D", name,
            f"Conv1d '{name}' expects (N, C_in={cin}, L) but got {_fs(s)}: your batch is channels-last (N, T, C)"
            f"{_layout_note(ctx)}.",
            "Build windows with seqprep.windows(..., layout='NCT') or call x.permute(0, 2, 1) before the conv.",
        )
    prev = _previous(ctx, (nn.Conv1d,))
    if prev is not None and s[1] == prev.layer.out_channels:
        return Diagnosis(
            "FEATURE_MISMATCH", name,
            f"Conv1d '{name}' has in_channels={cin} but its input {_fs(s)} has {s[1]} channels on axis 1, "
            f"the out_channels of the previous Conv1d '{prev.name}'.",
            f"set in_channels={s[1]} on '{name}' (each conv's in_channels must equal the previous out_channels).",
        )
    if s[2] < s[1]:
        return Diagnosis(
            "FEATURE_MISMATCH", name,
            f"Conv1d '{name}' has in_channels={cin} but its input {_fs(s)} has {s[1]} on axis 1 (channels) and "
            f"{s[2]} on the last axis: it looks channels-last (N, T={s[1]}, C={s[2]}) with {s[2]} features, "
            f"not {cin}.",
            f"set in_channels={s[2]} (the number of features) and call x.permute(0, 2, 1) before the conv "
            "(or build windows with layout='NCT').",
        )
    return Diagnosis(
        "FEATURE_MISMATCH", name,
        f"Conv1d '{name}' has in_channels={cin} but its input {_fs(s)} has {s[1]} channels on axis 1 "
        f"(N, C, L).",
        f"set in_channels={s[1]} (the number of features), or feed the {cin} feature columns the model was built for.",
    )


def _rnn_tuple(ctx: _Ctx, rnn: _Call, what: str) -> Diagnosis:
    t = _tname(rnn.layer)
    h = "(h_n, c_n)" if t == "LSTM" else "h_n"
    return Diagnosis(
        "RNN_TUPLE_OUTPUT", ctx.failing.name if ctx.failing else rnn.name,
        f"{what}: nn.{t} '{rnn.name}' returns a tuple (output, {h}), not a tensor.",
        f"unpack it in forward(): out, {h} = self.{rnn.name.split('.')[-1]}(x), then use out[:, -1, :] (last step, "
        "batch_first=True) or h_n[-1] for the head. nn.Sequential cannot unpack it: write a forward() or add a "
        "small module that returns out[:, -1, :].",
    )


def _torch_rnn(ctx: _Ctx, m: Any, s: tuple) -> Diagnosis:
    import torch.nn as nn

    name, t, size = ctx.failed.name, _tname(m), m.input_size
    if len(s) == 2:
        return _lost_axis_between(ctx, t, s) or _missing_feature_axis(name, t, s, conv_first=False)
    if len(s) == 4:
        n, k, length, c = s
        return Diagnosis(
            "SUBWINDOW_NOT_FOLDED", name,
            f"{t} '{name}' got a 4-D sub-window batch {_fs(s)} (N, S, T/S, C); {t} layers take 3-D (N, T, features).",
            f"run the CNN on each sub-window first: fold to x.reshape(N * {k}, {length}, {c}).permute(0, 2, 1), "
            f"apply the convs, flatten each sub-window's output and reshape to (N, {k}, features) for the {t} "
            "(Keras: wrap the CNN in TimeDistributed).",
        )
    if len(s) != 3 or s[-1] == size:
        return _unrecognised(ctx)
    conv = _previous(ctx, (nn.Conv1d,))
    if conv is not None and s[1] == conv.layer.out_channels:
        c_out = conv.layer.out_channels
        return Diagnosis(
            "CONV_OUTPUT_TO_RNN", name,
            f"{t} '{name}' (input_size={size}) got {_fs(s)} from Conv1d '{conv.name}': a conv outputs (N, C, L) = "
            f"(N, {c_out}, {s[2]}), but the {t} reads the last axis as features, so it sees {s[2]} features.",
            f"permute to (N, L, C) with x.permute(0, 2, 1); use batch_first=True; the {t}'s input_size must equal "
            f"the conv's out_channels (={c_out}).",
        )
    if conv is None and s[1] == size:
        return Diagnosis(
            "CHANNELS_FIRST_TO_RNN", name,
            f"{t} '{name}' (input_size={size}) got {_fs(s)}: the batch is channels-first (N, C, T){_layout_note(ctx)}"
            f", but {t} layers read (N, T, C) with batch_first=True.",
            "Build windows with layout='NTC' (the default) or call x.permute(0, 2, 1) before the "
            f"{t}; use batch_first=True.",
        )
    src = f", the out_channels of Conv1d '{conv.name}'" if conv is not None else ""
    axis = "the last axis (N, T, features)" if m.batch_first else "the last axis (T, N, features)"
    return Diagnosis(
        "FEATURE_MISMATCH", name,
        f"{t} '{name}' has input_size={size} but its input {_fs(s)} has {s[-1]} features on {axis}{src}.",
        f"set input_size={s[-1]}" + (" (an LSTM after a conv: input_size = the conv's out_channels)" if conv else
                                     f", or feed the {size} feature columns the model was built for."),
    )


def _torch_conv2d(ctx: _Ctx, m: Any, s: tuple) -> Diagnosis:
    name, cin = ctx.failed.name, m.in_channels
    if len(s) == 5:
        n, t, a, b, c = s
        order = "channels-last (N, T, H, W, C)" if c == cin and a != cin else "(N, T, C, H, W)"
        fix = ("fold time into the batch: x.reshape(N * T, C, H, W) (x.permute(0, 1, 4, 2, 3) first for "
               "channels-last frames), run the CNN, then reshape to (N, T, features) for the LSTM.")
        return Diagnosis("SUBWINDOW_NOT_FOLDED", name,
                         f"Conv2d '{name}' got a 5-D image sequence {_fs(s)} {order}; Conv2d takes 4-D (N, C, H, W).",
                         fix)
    if len(s) == 4 and s[1] != cin and s[-1] == cin:
        return Diagnosis(
            "FRAMES_CHANNEL_ORDER", name,
            f"Conv2d '{name}' expects frames (N*T, C={cin}, H, W) but got {_fs(s)}: the frames are channels-last "
            f"(H, W, C){_layout_note(ctx)}, so the conv sees {s[1]} channels.",
            "use layout 'NTCHW' (seqprep.windows(..., layout='NTCHW')) or x.permute(0, 1, 4, 2, 3) on the "
            "(N, T, H, W, C) batch before folding time into the batch.",
        )
    if len(s) == 4:
        return Diagnosis("FEATURE_MISMATCH", name,
                         f"Conv2d '{name}' has in_channels={cin} but its input {_fs(s)} has {s[1]} channels on axis 1.",
                         f"set in_channels={s[1]} or feed frames with {cin} channels.")
    return _unrecognised(ctx)


def _torch_linear(ctx: _Ctx, m: Any, s: tuple) -> Diagnosis:
    import torch.nn as nn

    name, fin, last = ctx.failed.name, m.in_features, s[-1]
    rnn = _previous(ctx, (nn.RNNBase,))
    if rnn is not None:
        units = rnn.layer.hidden_size * (2 if rnn.layer.bidirectional else 1)
        if fin == units and last != fin and last % units == 0:
            return Diagnosis(
                "SEQUENCE_TO_HEAD", name,
                f"Linear '{name}' (in_features={fin}) got {_fs(s)}: the whole {_tname(rnn.layer)} output sequence "
                f"flattened ({last // units} steps x {units} units).",
                "take the last time step instead: out, _ = self.lstm(x); self.fc(out[:, -1, :]) (batch_first=True); "
                f"or set in_features={last} to use every step.",
            )
    idx = ctx.calls.index(ctx.failed)
    prev = ctx.calls[idx - 1] if idx > 0 else None
    note = ""
    if prev is not None and isinstance(prev.layer, nn.Flatten) and _is_tensor_shape(prev.in_shape):
        dims = " x ".join(str(d) for d in prev.in_shape[1:])
        note = f" Flatten '{prev.name}' turned {_fs(prev.in_shape)} into {last} = {dims} values per sample."
    return Diagnosis(
        "FEATURE_MISMATCH", name,
        f"Linear '{name}' has in_features={fin} but its input {_fs(s)} has {last} on the last axis.{note}",
        f"set in_features={last} (or use nn.LazyLinear), or recompute it with seqprep.shapes.plan_cnn_lstm.",
    )


_VIEW = re.compile(r"shape '\[([-\d, ]+)\]' is invalid for input of size (\d+)")


def _torch_outside(ctx: _Ctx) -> Diagnosis:
    import torch.nn as nn

    err = ctx.error
    last = next((c for c in reversed(ctx.calls) if c.done), None)
    if len(ctx.batch_shape) == 2:
        first = next((m for m in ctx.model.modules() if isinstance(m, (nn.Conv1d, nn.RNNBase))), None)
        width = None if first is None else (first.in_channels if isinstance(first, nn.Conv1d) else first.input_size)
        if width == 1:
            where = f"after layer '{last.name}'" if last is not None else "before the first layer"
            return Diagnosis(
                "MISSING_FEATURE_AXIS", None,
                f"the batch {_fs(ctx.batch_shape)} has no feature axis: one feature per step, and the model's first "
                f"{_tname(first)} takes {width} feature/channel. forward() failed {where} on it: {_first_line(err)}",
                "one feature per step: add a feature axis (x[..., None], seqprep.add_feature_axis) to get "
                f"{_fs((*ctx.batch_shape, 1))}; then forward()'s x.permute(0, 2, 1) gives the (N, 1, L) a Conv1d "
                "reads.",
            )
    if last is not None and isinstance(last.layer, nn.RNNBase) and "tuple" in err:
        return _rnn_tuple(ctx, last, f"the output of {_tname(last.layer)} '{last.name}' was used as a tensor")
    match = _VIEW.search(err)
    if match:
        dims = [int(d) for d in match.group(1).split(",")]
        size, n = int(match.group(2)), ctx.batch_shape[0]
        if len(dims) == 4 and dims[-1] > 0 and size % n == 0 and (size // n) % dims[-1] == 0 and dims[1] > 0:
            T, S, C = size // n // dims[-1], dims[1], dims[-1]
            if T % S != 0:
                return _subwindow_not_divisible(None, T, S, C, f"reshape to {_fs(tuple(dims))}")
            return Diagnosis(
                "SUBWINDOW_NOT_DIVISIBLE", None,
                f"reshape to {_fs(tuple(dims))} does not match {size // n} values per sample: with lookback T={T} "
                f"and C={C}, S={S} sub-windows have T/S={T // S} steps each.",
                f"reshape with x.reshape(N, {S}, {T // S}, {C}) (or x.reshape(N, {S}, -1, {C})).",
            )
    return _unrecognised(ctx)


# ---------------------------------------------------------------------------------------------
# Keras 3


def run_keras(model: Any, x: Any, layout: str | None) -> tuple[DoctorReport, BaseException | None]:
    """Run a Keras model layer by layer (Sequential) or node by node (functional)."""
    import keras

    tensor = keras.ops.convert_to_tensor(x)
    batch_shape = tuple(int(d) for d in x.shape)
    calls: list[_Call] = []

    def wrap(layer: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            entry = _Call(layer.name, layer, _shape_of(args[0]) if args else None)
            calls.append(entry)
            out = layer(*args, **kwargs)
            entry.out_shape, entry.done = _shape_of(out), True
            return out

        return call

    exc: BaseException | None = None
    out = None
    pre = _keras_input_check(model, batch_shape, layout)
    static = _keras_static(model, batch_shape, layout) if pre is None else None
    try:
        if pre is not None:
            model(tensor)  # Keras refuses the batch too: this gets its own error text
            pre = None
        if isinstance(model, keras.Sequential):
            out = tensor
            for layer in model.layers:
                out = wrap(layer)(out)
        elif type(model).__name__ == "Functional" and hasattr(model, "_run_through_graph"):
            out = model._run_through_graph(tensor, operation_fn=wrap)
        else:
            out = wrap(model)(tensor)
    except Exception as e:  # the user's model may raise anything: this is what we diagnose
        exc = e

    rows = [LayerRow(c.name, _tname(c.layer), c.in_shape, c.out_shape, _keras_params(c.layer)) for c in calls]
    report = DoctorReport(rows=rows, ok=exc is None, framework="keras", input_shape=batch_shape)
    failing = calls[-1] if (exc is not None and calls and not calls[-1].done) else None
    ctx = _Ctx("keras", model, calls, failing, _clean(str(exc)) if exc is not None else "", batch_shape, layout)
    if exc is None and static is None:
        report.output_shape = _shape_of(out)
        report.warnings = _head_warnings(ctx, report.output_shape)
        return report, None
    if static is not None:  # the layers' own arithmetic, whatever the backend said (or did not say)
        report.ok = False
        report.error = ctx.error or static.message
        report.diagnosis = static
        return report, exc if exc is not None else ShapeError(static.message)
    report.error = ctx.error or type(exc).__name__
    report.diagnosis = pre if pre is not None else _diagnose_keras(ctx)
    return report, exc


def _keras_chain(model: Any) -> list[Any] | None:
    """The model's layers in call order when it is one chain (Sequential, or a functional chain), else None."""
    if _tname(model) == "Sequential":
        return [layer for layer in model.layers if _tname(layer) != "InputLayer"]
    if _tname(model) != "Functional":
        return None
    layers = [layer for layer in getattr(model, "layers", []) if _tname(layer) != "InputLayer"]
    try:
        previous = model.inputs[0] if len(model.inputs) == 1 else None
        for layer in layers:
            if previous is None or layer.input is not previous:
                return None
            previous = layer.output
    except (AttributeError, ValueError, IndexError):
        return None
    return layers


def _channels_last(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") in (None, "channels_last")


def _keras_op(layer: Any) -> _Op | None:
    t = _tname(layer)
    if t in _K_CONV1D:
        return _Op(layer.name, t, _first(layer.kernel_size), _first(layer.strides), 0,
                   _first(layer.dilation_rate), layer.padding in ("same", "causal"))
    if t in _K_POOL1D:
        return _Op(layer.name, t, _first(layer.pool_size), _first(layer.strides), 0, 1, layer.padding == "same")
    return None


def _returns_sequences(layer: Any) -> bool | None:
    inner = _keras_inner(layer)
    if _tname(inner) not in _K_RNN:
        return None
    return bool(getattr(inner, "return_sequences", False))


_PASS_THROUGH = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "BatchNormalization",
                 "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax")


def _keras_static(model: Any, batch_shape: tuple[int, ...], layout: str | None) -> Diagnosis | None:
    """Diagnose a Keras chain from its layers' arithmetic alone, whatever the backend does with the batch.

    The arithmetic: kernel, stride, pool, padding, ``return_sequences``, channel order.

    Shapes are carried layer by layer with ``compute_output_shape``; the analysis stops (None) at
    the first layer it cannot follow, and the forward pass and its error decide from there.
    """
    chain = _keras_chain(model)
    if not chain:
        return None
    ops = [op for op in (_keras_op(_keras_inner(layer)) for layer in chain) if op is not None]
    s: tuple = tuple(batch_shape)
    rnn_before: Any = None  # the last RNN, while only pass-through layers follow it
    for layer in chain:
        t = _tname(layer)
        inner = _keras_inner(layer)
        it = _tname(inner)
        if it in _K_RNN and rnn_before is not None and len(s) == 2:
            return _rnn_no_sequences(rnn_before, layer, s)
        op = _keras_op(inner) if _channels_last(inner) else None
        time_axis = 2 if t == "TimeDistributed" else 1
        if op is not None and len(s) == time_axis + 2 and s[time_axis] is not None and op.out_len(s[time_axis]) < 1:
            first_len = _first_length(chain, batch_shape)
            ctx = _Ctx("keras", model, [], None, "", batch_shape, layout)
            diag = _lookback_too_short(ctx, layer.name, ops, first_len)
            return diag
        if (t == "TimeDistributed" and it in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")
                and _channels_last(inner) and len(s) == 5):
            c = s[2]
            h, w = s[3], s[4]
            if (c is not None and c in (1, 3, 4) and None not in (h, w) and w not in (1, 3, 4) and min(h, w) > c):
                return _keras_frames(layer.name, s, c, f"TimeDistributed({it}) '{layer.name}' got {_fs(s)}")._replace(
                    message=(f"TimeDistributed({it}) '{layer.name}' got {_fs(s)}: the frames look channels-first "
                             f"(N, T, C={c}, H={s[3]}, W={s[4]}), but Keras Conv2D is channels-last (N, T, H, W, C), "
                             f"so it would read {s[-1]} channels of {c}x{s[3]} pixels and run on a garbage shape "
                             "(no Input layer fixed the channel count)."))
        if _returns_sequences(layer) is False:
            rnn_before = layer
        elif rnn_before is not None and t not in _PASS_THROUGH:
            rnn_before = None
        try:
            out = layer.compute_output_shape(s)
        except Exception:  # noqa: BLE001 -- any layer may refuse: the forward pass takes over
            return None
        if not _is_tensor_shape(tuple(out) if isinstance(out, (tuple, list)) else None):
            return None
        s = tuple(out)
    return None


def _first_length(chain: list[Any], batch_shape: tuple[int, ...]) -> int | None:
    """The time length entering the first 1-D conv/pool of the chain (the lookback for a plain stack)."""
    s: tuple = tuple(batch_shape)
    for layer in chain:
        inner = _keras_inner(layer)
        if _keras_op(inner) is not None:
            axis = 2 if _tname(layer) == "TimeDistributed" else 1
            return s[axis] if len(s) > axis else None
        try:
            s = tuple(layer.compute_output_shape(s))
        except Exception:  # noqa: BLE001
            return None
    return None


def _rnn_no_sequences(rnn: Any, nxt: Any, s: tuple) -> Diagnosis:
    kind = _tname(_keras_inner(rnn))
    wrapped = _tname(rnn) == "Bidirectional"
    call = f"layers.Bidirectional(layers.{kind}(..., return_sequences=True))" if wrapped else (
        f"layers.{kind}(..., return_sequences=True)")
    return Diagnosis(
        "RNN_NO_SEQUENCES", nxt.name,
        f"{_tname(_keras_inner(nxt))} '{nxt.name}' gets {_fs(s)}: the {kind} '{rnn.name}' before it has "
        "return_sequences=False, so it returns only its last step (N, units), and a recurrent layer needs a "
        "sequence (N, T, units). The batch itself is fine: do not add a feature axis.",
        f"stack recurrent layers with return_sequences=True on every one but the last: {call} for "
        f"'{rnn.name}'.",
    )


def _keras_params(layer: Any) -> int:
    try:
        return int(layer.count_params()) if layer.built else 0
    except ValueError:
        return 0


def _keras_input_check(model: Any, s: tuple, layout: str | None) -> Diagnosis | None:
    """Compare the batch with a functional model's ``Input`` shape."""
    if type(model).__name__ == "Sequential":
        return None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs or len(inputs) != 1:
        return None
    exp = tuple(inputs[0].shape)
    input_layers = [layer for layer in getattr(model, "layers", []) if _tname(layer) == "InputLayer"]
    name = input_layers[0].name if input_layers else "input"
    if len(exp) == len(s) and all(e is None or e == b for e, b in zip(exp[1:], s[1:], strict=True)):
        return None
    note = f" (your windows use layout={layout!r})" if layout else ""
    head = f"the model's Input expects {_fs(exp)} but the batch is {_fs(s)}{note}"
    if len(s) == 2 and len(exp) == 3 and exp[-1] == 1:
        return _missing_feature_axis(name, "Input", s, conv_first=False)._replace(message=head + ": no feature axis.")
    if len(s) != len(exp):
        return Diagnosis("RANK_MISMATCH", name, head + f": {len(s)} axes instead of {len(exp)}.",
                         f"reshape the batch to {_fs(exp)} or rebuild the model with keras.Input(shape={s[1:]}).")
    if len(s) == 3 and s[-1] != exp[-1] and s[1] == exp[-1]:
        return Diagnosis("CHANNELS_FIRST_TO_KERAS", name,
                         head + ": it is channels-first (N, C, T), Keras layers are channels-last (N, T, C).",
                         "Build windows with layout='NTC' (the default) or transpose: np.transpose(X, (0, 2, 1)).")
    if len(s) == 5 and s[-1] != exp[-1] and s[2] == exp[-1]:
        return _keras_frames(name, s, exp[-1], head)
    if s[-1] != exp[-1]:
        return Diagnosis("FEATURE_MISMATCH", name,
                         head + f": {s[-1]} features on the last axis, the model was built for {exp[-1]}.",
                         f"rebuild the model with keras.Input(shape={tuple(s[1:])}) for {s[-1]} features, or select "
                         f"the {exp[-1]} feature columns it was trained on.")
    if len(s) >= 3 and exp[1] is not None and s[1] != exp[1]:
        return Diagnosis("LOOKBACK_MISMATCH", name, head + f": lookback {s[1]}, the model was built for {exp[1]}.",
                         f"build windows with lookback={exp[1]}, or use keras.Input(shape=(None, {exp[-1]})) "
                         "to accept any lookback.")
    return Diagnosis("RANK_MISMATCH", name, head + ".", f"reshape the batch to {_fs(exp)}.")


def _keras_frames(name: str | None, s: tuple, c: int, head: str) -> Diagnosis:
    return Diagnosis(
        "FRAMES_CHANNEL_ORDER", name,
        head + f": the frames are channels-first (N, T, C={c}, H, W) but Keras Conv2D is channels-last "
        "(N, T, H, W, C).",
        "use layout 'NTHWC' (seqprep.windows(..., layout='NTHWC')) or x.transpose(0, 1, 3, 4, 2) "
        "(np.transpose(X, (0, 1, 3, 4, 2))).",
    )


_EXPECTED_AXIS = re.compile(r"expected axis -1 of input shape to have value (\d+)")


def _keras_expected_features(layer: Any, error: str) -> int | None:
    match = _EXPECTED_AXIS.search(error)
    if match:
        return int(match.group(1))
    for attr in ("kernel", "depthwise_kernel"):
        kernel = getattr(layer, attr, None) if layer.built else None
        if kernel is not None:
            return int(kernel.shape[-2])
    cell = getattr(layer, "cell", None)
    if cell is not None and getattr(cell, "built", False) and getattr(cell, "kernel", None) is not None:
        return int(cell.kernel.shape[0])
    return None


def _diagnose_keras(ctx: _Ctx) -> Diagnosis:
    f = ctx.failing
    if f is None or not _is_tensor_shape(f.in_shape):
        return _unrecognised(ctx)
    layer, s, name, err = f.layer, f.in_shape, f.name, ctx.error
    t = _tname(layer)
    if _is_too_short(err):
        first = next((c for c in ctx.calls if _tname(_keras_inner(c.layer)) in _K_CONV1D + _K_POOL1D), None)
        length = first.in_shape[-2] if first is not None and _is_tensor_shape(first.in_shape) else None
        return _lookback_too_short(ctx, name, _keras_ops(ctx.model), length)
    if t == "Reshape" and "total size" in err:
        target = tuple(layer.target_shape)
        if len(s) == 3 and len(target) == 3 and target[0] and target[0] > 0:
            return _subwindow_not_divisible(name, s[1], int(target[0]), s[2], f"Reshape '{name}' to {target}")
        return _unrecognised(ctx)
    if t == "TimeDistributed":
        inner = layer.layer
        it = _tname(inner)
        if it in _K_CONV1D + _K_POOL1D and len(s) == 3:
            valid = ", ".join(str(d) for d in divisors(s[1]))
            return Diagnosis(
                "SUBWINDOW_AXIS_MISSING", name,
                f"TimeDistributed({it}) '{name}' got {_fs(s)} (N, T, C): it applies the {it} to each time step "
                f"(a {s[2]}-vector), but it needs sub-windows (N, S, T/S, C).",
                f"split each window first: layers.Reshape((S, {s[1]} // S, {s[2]})) with S in {{{valid}}}, or build "
                "windows with seqprep.windows(..., layout='NSTC', subsequences=S).",
            )
        if it in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D") and len(s) == 5:
            c = _keras_expected_features(inner, err)
            if c is not None and s[2] == c and s[-1] != c:
                return _keras_frames(name, s, c, f"TimeDistributed(Conv2D) '{name}' got {_fs(s)}")
        return _keras_layer_rules(ctx, inner, (s[0] * s[1], *s[2:]) if len(s) >= 2 else s, f"TimeDistributed({it})")
    return _keras_layer_rules(ctx, layer, s, t)


def _keras_inner(layer: Any) -> Any:
    if _tname(layer) == "Bidirectional":
        return getattr(layer, "forward_layer", None) or getattr(layer, "layer", layer)
    return getattr(layer, "layer", layer) if _tname(layer) == "TimeDistributed" else layer


def _keras_layer_rules(ctx: _Ctx, layer: Any, s: tuple, t: str) -> Diagnosis:
    name, err = ctx.failed.name, ctx.error
    kind = _tname(_keras_inner(layer))
    is_conv, is_rnn = kind in _K_CONV1D, kind in _K_RNN
    if not (is_conv or is_rnn):
        return _unrecognised(ctx)
    done = [c for c in ctx.calls if c.done and _tname(c.layer) not in _PASS_THROUGH]
    if len(s) == 2 and is_rnn and done and _returns_sequences(done[-1].layer) is False:
        return _rnn_no_sequences(done[-1].layer, ctx.failed.layer, s)
    if len(s) == 2:
        return _missing_feature_axis(name, t, s, conv_first=False)
    if len(s) == 4:
        n, k, length, c = s
        fix = (f"wrap the per-sub-window CNN in TimeDistributed (layers.TimeDistributed(layers.Conv1D(...))) and "
               f"flatten each sub-window before the {kind}: layers.TimeDistributed(layers.Flatten()) -> "
               f"(N, {k}, features).")
        if is_conv:
            fix = f"wrap it: layers.TimeDistributed(layers.{kind}(...)) so it runs on each of the {k} sub-windows."
        return Diagnosis(
            "SUBWINDOW_NOT_FOLDED", name,
            f"{t} '{name}' got a 4-D sub-window batch {_fs(s)} (N, S={k}, T/S={length}, C={c}); {kind} "
            "layers take 3-D (N, T, features).",
            fix,
        )
    if len(s) == 3:
        want = _keras_expected_features(layer, err)
        if want is not None and s[-1] != want:
            if s[1] == want:
                return Diagnosis(
                    "CHANNELS_FIRST_TO_KERAS", name,
                    f"{t} '{name}' expects (N, T, C={want}) but got {_fs(s)}: the batch is channels-first "
                    f"(N, C, T){_layout_note(ctx)}; Keras layers are channels-last.",
                    "Build windows with layout='NTC' (the default) or transpose: np.transpose(X, (0, 2, 1)).",
                )
            return Diagnosis(
                "FEATURE_MISMATCH", name,
                f"{t} '{name}' was built for {want} features on the last axis but its input {_fs(s)} has {s[-1]}.",
                f"rebuild the model with keras.Input(shape=({s[1]}, {s[-1]})) for {s[-1]} features, or select the "
                f"{want} feature columns it was built for.",
            )
    return _unrecognised(ctx)
