"""LSTM-FCN and MLSTM-FCN (Karim et al. 2017, 2019) for seqprep's ``(N, T, C)`` cases, with masks.

A fully convolutional branch (three blocks ``Conv1d`` -> ``BatchNorm1d`` -> ReLU, 128/256/128
channels, kernels 8/5/3, global average pooling over time) runs beside an LSTM branch; the two
summaries are concatenated and read by one ``Linear`` head. For multivariate input (MLSTM-FCN) a
squeeze-and-excite block follows the first two conv blocks.

Unequal-length cases are padded at the end and their true lengths passed as
``model(x, lengths)``: the conv branch zeroes the padded steps after every block and pools only
over the valid ones (masked global average; the squeeze of squeeze-and-excite likewise), and the
LSTM branch reads packed sequences (``lstm_input="time"``) or a zeroed padding
(``lstm_input="shuffle"``, the paper's dimension shuffle: one LSTM step per channel, the whole
series as that step's input).

This module imports torch; import :class:`LSTMFCN` through :mod:`seqprep.models`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from .._validation import check_bool, check_choice, check_float, check_int, check_int_sequence, param_error
from ..diagnosis.shapes import per_block
from ..exceptions import ShapeError
from .cnn_lstm import _ConvBlock, _dict_inputs, _RecurrentModel

__all__ = ["LSTMFCN", "stride_plan"]

_LSTM_INPUTS = ("shuffle", "time")


def stride_plan(length: int, max_length: int) -> int:
    """The smallest integer stride that brings *length* steps down to at most *max_length*.

    Parameters
    ----------
    length : int
        Steps of the input.
    max_length : int
        Most steps wanted after an average pool of that stride (``ceil_mode``).

    Returns
    -------
    int
        ``ceil(length / max_length)`` (1 when the input is short enough).

    Examples
    --------
    >>> stride_plan(251, 512), stride_plan(1460, 512), stride_plan(1460, 64)
    (1, 3, 23)
    """
    length = check_int(length, "length", minimum=1)
    max_length = check_int(max_length, "max_length", minimum=1)
    return max(1, -(-length // max_length))


def _pool_lengths(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Valid steps after an average pool of *stride* with ``ceil_mode=True``."""
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor").clamp(min=1)


def _avg_pool(x: torch.Tensor, stride: int) -> torch.Tensor:
    """(N, C, T) -> (N, C, ceil(T / stride)); the last, partial bin averages only its real steps."""
    if stride == 1:
        return x
    return F.avg_pool1d(x, stride, stride, ceil_mode=True, count_include_pad=False)


def _step_mask(lengths: torch.Tensor | None, steps: int, like: torch.Tensor) -> torch.Tensor | None:
    """(N, 1, steps) float mask, 1 on valid steps; None without lengths."""
    if lengths is None:
        return None
    idx = torch.arange(steps, device=like.device)
    return (idx[None, :] < lengths.to(like.device)[:, None]).to(like.dtype)[:, None, :]


def _masked_mean(h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over time of (N, C, T), over the valid steps only when *mask* is given."""
    if mask is None:
        return h.mean(dim=2)
    return (h * mask).sum(dim=2) / mask.sum(dim=2).clamp(min=1.0)


class _SqueezeExcite(nn.Module):
    """Squeeze-and-excite over channels (Hu et al. 2018), squeezed by a masked global average."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(_masked_mean(h, mask)))))
        return h * s[:, :, None]


class LSTMFCN(_RecurrentModel):
    """LSTM-FCN / MLSTM-FCN: a fully convolutional branch beside an LSTM branch, for classification.

    Conv branch: per block ``Conv1d`` ("same" padding) -> ``BatchNorm1d`` -> ReLU, channels
    128/256/128 with kernels 8/5/3 by default, squeeze-and-excite after every block but the last
    when *squeeze_excite* (MLSTM-FCN), then a global average over time. LSTM branch: an LSTM of
    *lstm_hidden* cells, its last hidden state through dropout. Both summaries are concatenated
    and read by a ``Linear`` head (logits).

    Long series: the input is first average-pooled with the stride of :func:`stride_plan`
    (``lookback`` steps down to at most *max_length*) for both branches; with
    ``lstm_input="time"`` the LSTM's sequence is pooled further to at most *lstm_steps* steps.
    With ``lstm_input="shuffle"`` (the paper's dimension shuffle) the LSTM reads one step per
    channel whose input is the whole (pooled) series, so its sequence has C steps whatever T is.

    Parameters
    ----------
    n_features : int
        Channels C of the input ``(N, T, C)``.
    n_outputs : int, default 2
        Number of classes (logits); for ``task="regression"``, number of targets.
    task : {"classification", "regression"}, default "classification"
    lookback : int
        Input length T (the padded length for unequal-length cases): sets the stride plan and,
        with ``lstm_input="shuffle"``, the LSTM's input size. Inputs must have this many steps.
    conv_channels : sequence of int, default (128, 256, 128)
    kernel_size : int or sequence of int, default (8, 5, 3)
    lstm_hidden : int, default 8
        LSTM cells (the paper searches 8, 64, 128).
    lstm_input : {"shuffle", "time"}, default "shuffle"
        Dimension shuffle (C steps of T values) or the time axis (T' steps of C values, packed
        to each case's length).
    dropout : float, default 0.8
        Dropout after the LSTM (the paper's 0.8).
    squeeze_excite : bool or "auto", default "auto"
        Squeeze-and-excite blocks (MLSTM-FCN); "auto" turns them on for multivariate input.
    se_reduction : int, default 16
    max_length : int, default 512
        Most steps the conv branch sees (an average-pool stride is chosen from *lookback*).
    lstm_steps : int, default 64
        ``lstm_input="time"``: most steps the LSTM reads (a further average-pool stride).
    inputs, horizon, masks, embedding_dims
        Dict batches, as in :class:`~seqprep.models.CNNLSTM`: the joined sequence (``past``, masks,
        embedded codes, the first T rows of the known inputs) feeds both branches, and the horizon
        rows of the known inputs and the static inputs join the head. ``lengths`` is refused with a dict.

    Attributes
    ----------
    config : dict
        The constructor arguments, JSON-safe (``LSTMFCN.from_config(config)`` rebuilds it).
    stride : int
        The input stride of the plan; ``lstm_stride`` the further one of the LSTM (``"time"``).

    Notes
    -----
    ``forward(x, lengths=None)``: ``x`` of shape ``(N, lookback, n_features)``; ``lengths``, an
    int tensor ``(N,)`` of valid steps per case (padding at the end), or None when every case
    is full length. Returns ``(N, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from seqprep.models import LSTMFCN
    >>> _ = torch.manual_seed(0)
    >>> model = LSTMFCN(3, 4, lookback=40, conv_channels=(8, 16, 8)).eval()
    >>> x = torch.randn(2, 40, 3)
    >>> model(x).shape, model.config["squeeze_excite"], model.stride
    (torch.Size([2, 4]), 'auto', 1)
    >>> x[1, 25:] = 0.0                                  # case 1 has 25 steps, zero-padded
    >>> model(x, torch.tensor([40, 25])).shape
    torch.Size([2, 4])
    >>> model(torch.randn(1, 25, 3))
    Traceback (most recent call last):
    ...
    seqprep.exceptions.ShapeError: this LSTMFCN reads 40 steps (lookback); got x of shape (1, 25, 3). ...
    >>> LSTMFCN(1, 10, lookback=1460).stride
    3
    """

    _positional = ("n_features",)

    def __init__(
        self,
        n_features: int,
        n_outputs: int = 2,
        *,
        task: str = "classification",
        lookback: int,
        conv_channels: Sequence[int] = (128, 256, 128),
        kernel_size: int | Sequence[int] = (8, 5, 3),
        lstm_hidden: int = 8,
        lstm_input: str = "shuffle",
        dropout: float = 0.8,
        squeeze_excite: bool | str = "auto",
        se_reduction: int = 16,
        max_length: int = 512,
        lstm_steps: int = 64,
        inputs: Mapping[str, Any] | None = None,
        horizon: int | None = None,
        masks: bool = False,
        embedding_dims: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        n_features = check_int(n_features, "n_features", minimum=1)
        self.input_spec, self.join, inputs_config = _dict_inputs(n_features, inputs, horizon, masks, embedding_dims)
        c_seq = self.join.seq_channels if self.join is not None else n_features
        n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
        task = check_choice(task, "task", ("classification", "regression"))
        lookback = check_int(lookback, "lookback", minimum=1)
        channels, _ = check_int_sequence(conv_channels, "conv_channels", minimum=1)
        kernels = per_block(kernel_size, "kernel_size", len(channels), 1)
        lstm_hidden = check_int(lstm_hidden, "lstm_hidden", minimum=1)
        lstm_input = check_choice(lstm_input, "lstm_input", _LSTM_INPUTS)
        dropout = check_float(dropout, "dropout", minimum=0.0, maximum=1.0)
        if dropout >= 1.0:
            raise param_error("dropout", "a number with 0 <= dropout < 1", dropout, "Use e.g. dropout=0.8.")
        if squeeze_excite != "auto":
            squeeze_excite = check_bool(squeeze_excite, "squeeze_excite")
        se_reduction = check_int(se_reduction, "se_reduction", minimum=1)
        max_length = check_int(max_length, "max_length", minimum=1)
        lstm_steps = check_int(lstm_steps, "lstm_steps", minimum=1)
        use_se = c_seq > 1 if squeeze_excite == "auto" else bool(squeeze_excite)

        self.task = task
        self.n_outputs = n_outputs
        self.horizons: int | None = None
        self.n_features = n_features
        self.lookback = lookback
        self.lstm_input = lstm_input
        self.stride = stride_plan(lookback, max_length)
        length = -(-lookback // self.stride)
        self.lstm_stride = stride_plan(length, lstm_steps) if lstm_input == "time" else 1
        blocks, excites = [], []
        c_in = c_seq
        for i, (c_out, k) in enumerate(zip(channels, kernels, strict=True)):
            blocks.append(_ConvBlock(1, c_in, c_out, k, 1, "same", True, 0.0))
            excites.append(_SqueezeExcite(c_out, se_reduction) if use_se and i < len(channels) - 1 else None)
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.excites = nn.ModuleList(e if e is not None else nn.Identity() for e in excites)
        self._has_se = [e is not None for e in excites]
        self.lstm = nn.LSTM(length if lstm_input == "shuffle" else c_seq, lstm_hidden, batch_first=True)
        self.lstm_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        extra = self.join.extra_features if self.join is not None else 0
        self.head = nn.Linear(c_in + lstm_hidden + extra, n_outputs)
        self.config: dict[str, Any] = {
            "n_features": n_features, "n_outputs": n_outputs, "task": task, "lookback": lookback,
            "conv_channels": list(channels), "kernel_size": list(kernels), "lstm_hidden": lstm_hidden,
            "lstm_input": lstm_input, "dropout": dropout, "squeeze_excite": squeeze_excite,
            "se_reduction": se_reduction, "max_length": max_length, "lstm_steps": lstm_steps, **inputs_config,
        }

    def _check_input(self, x: Any, lengths: Any) -> torch.Tensor | None:
        self._check_tensor(x)
        shape = tuple(int(s) for s in x.shape)
        if x.ndim != 3 or shape[2] != self.n_features:
            fix = (" One feature per step: add a feature axis with x.unsqueeze(-1) (seqprep.shapes.add_feature_axis)."
                   if x.ndim == 2 and self.n_features == 1 else " Pass cases in layout (N, T, C).")
            raise ShapeError(f"expected x of shape (N, T, C) with C = n_features = {self.n_features}, got "
                             f"shape {shape}.{fix}")
        if shape[1] != self.lookback:
            raise ShapeError(f"this LSTMFCN reads {self.lookback} steps (lookback); got x of shape {shape}. "
                             "Pad (and pass lengths) or resample the cases to lookback steps.")
        if lengths is None:
            return None
        if not isinstance(lengths, torch.Tensor) or lengths.shape != (shape[0],):
            raise param_error("lengths", f"an integer tensor of shape ({shape[0]},) or None", lengths)
        lengths = lengths.to(torch.long)
        if bool((lengths < 1).any()) or bool((lengths > shape[1]).any()):
            raise param_error("lengths", f"valid steps per case, 1 .. {shape[1]}", lengths)
        return lengths

    def forward(
        self, x: torch.Tensor | Mapping[str, torch.Tensor], lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Map ``(N, lookback, n_features)`` cases (``lengths`` valid steps each) to ``(N, n_outputs)``.

        ``x`` may be a dict batch (see :class:`~seqprep.models.CNNLSTM`) whose ``past`` has that shape.
        """
        x, seq, head_extra = self._split_inputs(x, self.n_features, lengths)
        lengths = self._check_input(x, lengths)
        h = (x if seq is None else seq).permute(0, 2, 1)  # (N, C, T)
        mask = _step_mask(lengths, h.shape[2], h)
        if mask is None:
            h = _avg_pool(h, self.stride)  # (N, C, T')
        else:  # a pooled step averages the valid steps of its bin only
            h = _avg_pool(h * mask, self.stride) / _avg_pool(mask, self.stride).clamp(min=1e-6)
            lengths = _pool_lengths(lengths, self.stride)  # type: ignore[arg-type]
            mask = _step_mask(lengths, h.shape[2], h)
            h = h * mask  # type: ignore[operator]
        seq_in = h
        for block, excite, has_se in zip(self.blocks, self.excites, self._has_se, strict=True):
            h = block(h)
            if mask is not None:
                h = h * mask  # padded steps stay zero for the next kernel
            if has_se:
                h = excite(h, mask)
        conv_summary = _masked_mean(h, mask)
        lstm_summary = self._lstm_branch(seq_in, lengths)
        parts = [conv_summary, self.lstm_dropout(lstm_summary)] + ([] if head_extra is None else [head_extra])
        return self.head(torch.cat(parts, dim=1))

    def _lstm_branch(self, seq: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """The LSTM's last hidden state over the (pooled, masked) input ``(N, C, T')``."""
        if self.lstm_input == "shuffle":
            _, (h_n, _) = self.lstm(seq)  # (N, C steps, T' values): padding is already zero
            return h_n[-1]
        if lengths is None:
            _, (h_n, _) = self.lstm(_avg_pool(seq, self.lstm_stride).permute(0, 2, 1))  # (N, T'', C)
            return h_n[-1]
        mask = cast(torch.Tensor, _step_mask(lengths, seq.shape[2], seq))  # lengths is given here
        seq = (_avg_pool(seq, self.lstm_stride) / _avg_pool(mask, self.lstm_stride).clamp(min=1e-6)).permute(0, 2, 1)
        steps = _pool_lengths(lengths, self.lstm_stride).clamp(max=seq.shape[1])
        packed = nn.utils.rnn.pack_padded_sequence(seq, steps.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return h_n[-1]

    def plan_text(self) -> str:
        """One line: the strides and the lengths each branch sees."""
        conv_len = math.ceil(self.lookback / self.stride)
        lstm = (f"{self.n_features} steps of {conv_len} values (dimension shuffle)" if self.lstm_input == "shuffle"
                else f"{math.ceil(conv_len / self.lstm_stride)} steps of {self.n_features} values")
        return f"input {self.lookback} steps, stride {self.stride} -> conv branch {conv_len} steps; LSTM {lstm}"
