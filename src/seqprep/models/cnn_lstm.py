"""CNN-LSTM models for seqprep windows.

Both models take seqprep's default layout (batch, time, features) -- ``NTC`` --
and permute internally, so the output of ``seqprep.windows(...)`` goes in as it
is.  Wrong layouts fail early with a :class:`~seqprep.exceptions.ShapeError`
that names the layout expected and the call that produces it.

This module imports torch; import the models through :mod:`seqprep.models`
(:mod:`seqprep.models.ensemble` averages trained models, :mod:`seqprep.models.saving`
writes and reads them).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, cast

try:
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError("seqprep.models needs PyTorch: pip install 'seqprep[torch]'") from exc

from .._validation import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_int_sequence,
    list_names,
    param_error,
)
from ..diagnosis.batches import input_spec
from ..diagnosis.shapes import CNNLSTMPlan, per_block, plan_cnn_lstm
from ..exceptions import ShapeError
from ._inputs import InputJoin, check_batch, embedding_dims, plain_spec

__all__ = ["CNNLSTM", "TimeDistributedCNNLSTM"]

_TASKS = ("regression", "classification")
_HEADS = ("last", "mean", "last+mean")
_AUTO_POOL_MIN_STEPS = 16  # pool="auto": pool while at least this many steps would reach the LSTM
_AUTO_POOL_SIZES = (4, 2)  # pool="auto": largest pool per block tried first
_FRAME_LAYOUTS = ("NSTC", "NTHWC", "NTCHW")
_ROLE_KEYS = ("past", "past_cat", "known", "known_cat", "static", "static_cat", "masks")


# --------------------------------------------------------------------------- building blocks


def _scale_kernels(kernel: int, scales: int) -> tuple[int, ...]:
    """Kernels of the parallel convolutions of a multi-scale block: ``(k + 1) * 2**i - 1``, e.g. 9 -> 9, 19, 39."""
    return tuple((kernel + 1) * 2**i - 1 for i in range(scales))


class _MultiScaleConv1d(nn.Module):
    """Parallel 1-D convolutions with kernels ``k, 2k + 1, 4k + 3, ...`` ("same" padding), concatenated.

    The *c_out* channels are split over the branches (the first takes the
    remainder), as the inception module of InceptionTime (kernels 10/20/40).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, scales: int) -> None:
        super().__init__()
        kernels = _scale_kernels(kernel, scales)
        widths = [c_out // scales + (c_out % scales if i == 0 else 0) for i in range(scales)]
        self.branches = nn.ModuleList(nn.Conv1d(c_in, w, k) for w, k in zip(widths, kernels, strict=True))
        self._pads = [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernels]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([conv(F.pad(x, pad)) for conv, pad in zip(self.branches, self._pads, strict=True)], dim=1)


class _ConvBlock(nn.Module):
    """conv -> batch norm? -> ReLU -> max pool? -> dropout?, in 1-D or 2-D.

    ``padding="same"`` keeps the length (PyTorch's rule: the extra zero of an
    even kernel goes on the right) and pools with ``ceil_mode=True``, so every
    input length >= 1 gives an output length >= 1.
    """

    def __init__(
        self,
        dims: int,
        c_in: int,
        c_out: int,
        kernel: int,
        pool: int,
        padding: str,
        batch_norm: bool,
        dropout: float,
        scales: int = 1,
    ) -> None:
        super().__init__()
        conv_cls = nn.Conv1d if dims == 1 else nn.Conv2d
        self._pad: tuple[int, ...] | None = None
        conv_padding = 0
        if scales > 1:  # 1-D, padding "same" (checked by CNNLSTM); the branches pad themselves
            pass
        elif padding == "same":
            left = (kernel - 1) // 2
            right = kernel - 1 - left
            if left == right:
                conv_padding = left
            else:  # explicit asymmetric pad: avoids torch's warning and its hidden copy
                self._pad = (left, right) * dims
        self.conv: nn.Module = (
            _MultiScaleConv1d(c_in, c_out, kernel, scales) if scales > 1
            else conv_cls(c_in, c_out, kernel, padding=conv_padding)
        )
        norm_cls = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        self.norm = norm_cls(c_out) if batch_norm else nn.Identity()
        self.act = nn.ReLU()
        pool_cls = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
        self.pool = pool_cls(pool, ceil_mode=padding == "same") if pool > 1 else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._pad is not None:
            x = F.pad(x, self._pad)
        return self.drop(self.pool(self.act(self.norm(self.conv(x)))))


def _tuple_or_int(values: tuple[int, ...], scalar: bool) -> int | list[int]:
    """JSON-safe form of a per-block argument."""
    return values[0] if scalar else list(values)


def _auto_pools(lookback: int, kernels: tuple[int, ...], padding: str) -> tuple[int, ...]:
    """Per-block pools for ``pool="auto"``: greedy, largest first, keeping >= 16 steps for the LSTM.

    Each block takes the largest pool of (4, 2) that leaves at least
    ``_AUTO_POOL_MIN_STEPS`` steps after it, else 1.  A series shorter than
    32 steps is not pooled at all; 251 steps become 16 (pools 4, 4, 1).
    """
    length = lookback
    pools = []
    for k in kernels:
        if padding == "valid":
            length = max(length - k + 1, 0)
        chosen = 1
        for p in _AUTO_POOL_SIZES:
            if -(-length // p) >= _AUTO_POOL_MIN_STEPS:
                chosen = p
                break
        pools.append(chosen)
        length = -(-length // chosen) if padding == "same" else length // chosen
    return tuple(pools)


def _shape_text(x: torch.Tensor) -> str:
    return str(tuple(int(s) for s in x.shape))


def _dict_inputs(
    n_features: int, inputs: Mapping[str, Any] | None, horizon: int | None, masks: bool,
    dims: Mapping[str, int] | None,
) -> tuple[dict[str, Any], InputJoin | None, dict[str, Any]]:
    """``(input_spec, InputJoin, config entries)`` of a model's dict inputs; ``(past-only spec, None, {})`` without."""
    if inputs is None:
        for name, value, unset in (("horizon", horizon, None), ("masks", masks, False), ("embedding_dims", dims, None)):
            if value != unset:
                raise param_error(name, f"{unset} without inputs", value,
                                  "Pass inputs=windows.inputs too, or use CNNLSTM.from_windows(windows).")
        return plain_spec(n_features), None, {}
    spec = input_spec(inputs, horizon=horizon, masks=masks)
    if spec["past"] != n_features:
        raise param_error("n_features", f"the number of past columns in inputs ({spec['past']})", n_features,
                          "Pass n_features=len(windows.inputs['past']), or use CNNLSTM.from_windows(windows).")
    widths = embedding_dims(spec, dims)
    roles = ("past", "past_cat", "known", "known_cat", "static", "static_cat")
    config_inputs: dict[str, Any] = {role: list(inputs.get(role) or []) for role in roles}
    config_inputs["cardinalities"] = {c: n for role in roles[1::2] for c, n in spec[role].items()}
    has_known = bool(spec["known"] or spec["known_cat"])
    config = {"inputs": config_inputs, "horizon": spec["horizon"] if has_known else None, "masks": spec["masks"],
              "embedding_dims": widths}
    return spec, InputJoin(spec, widths), config


class _RecurrentModel(nn.Module):
    """Shared parts: argument checks, LSTM + head, input checks, config round trip."""

    _positional: tuple[str, ...] = ()
    input_spec: dict[str, Any]  # set by the models that read dict batches (CNNLSTM, LSTMFCN)

    def _check_common(
        self,
        n_outputs: int,
        task: str,
        conv_channels: int | Sequence[int],
        kernel_size: int | Sequence[int],
        pool: int | Sequence[int],
        batch_norm: bool,
        dropout: float,
        lstm_hidden: int,
        lstm_layers: int,
        bidirectional: bool,
        horizons: int | None,
    ) -> dict[str, Any]:
        n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
        task = check_choice(task, "task", _TASKS)
        channels, ch_scalar = check_int_sequence(conv_channels, "conv_channels", minimum=1)
        kernels = per_block(kernel_size, "kernel_size", len(channels), 1)
        pools = per_block(pool, "pool", len(channels), 1)
        batch_norm = check_bool(batch_norm, "batch_norm")
        dropout = check_float(dropout, "dropout", minimum=0.0, maximum=1.0, fix="Use 0 <= dropout < 1, e.g. 0.1.")
        if dropout >= 1.0:
            raise param_error("dropout", "a number with 0 <= dropout < 1", dropout, "Use e.g. dropout=0.1.")
        lstm_hidden = check_int(lstm_hidden, "lstm_hidden", minimum=1)
        lstm_layers = check_int(lstm_layers, "lstm_layers", minimum=1)
        bidirectional = check_bool(bidirectional, "bidirectional")
        if horizons is not None:
            horizons = check_int(horizons, "horizons", minimum=1)
            if task != "regression":
                raise param_error(
                    "horizons",
                    "None for task='classification'",
                    horizons,
                    "Multi-horizon output is for regression; for classification use n_outputs=n_classes.",
                )
        return {
            "n_outputs": n_outputs,
            "task": task,
            "channels": channels,
            "kernels": kernels,
            "pools": pools,
            "conv_channels": _tuple_or_int(channels, ch_scalar),
            "kernel_size": int(kernel_size) if isinstance(kernel_size, numbers.Integral) else list(kernels),
            "pool": int(pool) if isinstance(pool, numbers.Integral) else list(pools),
            "batch_norm": batch_norm,
            "dropout": dropout,
            "lstm_hidden": lstm_hidden,
            "lstm_layers": lstm_layers,
            "bidirectional": bidirectional,
            "horizons": horizons,
        }

    def _build_recurrent(self, input_size: int, a: dict[str, Any], head: str = "last", extra: int = 0) -> None:
        self.task: str = a["task"]
        self.head_mode: str = head
        self.n_outputs: int = a["n_outputs"]
        self.horizons: int | None = a["horizons"]
        self.bidirectional: bool = a["bidirectional"]
        self.lstm = nn.LSTM(
            input_size=input_size,
            hidden_size=a["lstm_hidden"],
            num_layers=a["lstm_layers"],
            batch_first=True,
            bidirectional=a["bidirectional"],
            # torch warns when dropout is set on a single-layer LSTM
            dropout=a["dropout"] if a["lstm_layers"] > 1 else 0.0,
        )
        units = a["lstm_hidden"] * (2 if a["bidirectional"] else 1) * (2 if head == "last+mean" else 1) + extra
        self.head_dropout = nn.Dropout(a["dropout"]) if a["dropout"] > 0 else nn.Identity()
        self.head = nn.Linear(units, a["n_outputs"] * (a["horizons"] or 1))

    def _recurrent_forward(self, seq: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """(N, T', F') -> (N, n_outputs) or (N, horizons, n_outputs); *extra* (N, E) joins the summary."""
        outputs, (h_n, _) = self.lstm(seq)
        if self.head_mode == "mean":
            summary = outputs.mean(dim=1)  # global average over the LSTM's time steps
        else:
            summary = torch.cat((h_n[-2], h_n[-1]), dim=1) if self.bidirectional else h_n[-1]
            if self.head_mode == "last+mean":
                summary = torch.cat((summary, outputs.mean(dim=1)), dim=1)
        if extra is not None:
            summary = torch.cat((summary, extra), dim=1)
        out = self.head(self.head_dropout(summary))
        if self.horizons is not None:
            out = out.reshape(out.shape[0], self.horizons, self.n_outputs)
        return out

    def _check_tensor(self, x: Any) -> None:
        if not isinstance(x, torch.Tensor):
            raise param_error(
                "x",
                "a torch.Tensor",
                x,
                "Convert it with torch.as_tensor(X, dtype=torch.float32).",
            )
        weight = next(self.parameters())
        if x.dtype != weight.dtype:
            raise param_error(
                "x",
                f"a tensor of the model's dtype {weight.dtype}",
                f"tensor of dtype {x.dtype}",
                "Use x.float() (numpy arrays are float64 by default), or convert the model with model.to(x.dtype).",
            )

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _split_inputs(
        self, x: Any, n_features: int, lengths: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """``(past, seq, extra)`` of a tensor or dict batch; *seq* None means "read *past* as it is".

        A dict goes through the model's :class:`InputJoin` (or, for a model built without inputs, may
        hold ``past`` and the training loop's keys only); a tensor is refused by a model built for dicts.
        """
        join: InputJoin | None = getattr(self, "join", None)
        if not isinstance(x, Mapping):
            if join is not None:
                raise param_error(
                    "x", "a dict batch for a model built with inputs", f"a {type(x).__name__}",
                    f"This model reads {list_names(k for k, v in join.spec.items() if v and k in _ROLE_KEYS)}: "
                    "pass the windows' dict batches (windows[idx], to_torch()).",
                )
            return x, None, None
        if lengths is not None:
            raise param_error("lengths", "None with a dict batch", "a tensor",
                              "Masks of padded cases and dict batches do not combine; pass a tensor x with lengths.")
        check_batch(x, self.input_spec)
        past = x["past"]
        self._check_tensor(past)
        if join is None:
            return past, None, None
        seq, extra = join(x, past.dtype)
        return past, seq, extra

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _RecurrentModel:
        """Rebuild a model (with fresh weights) from its :attr:`config`.

        Parameters
        ----------
        config : dict
            ``model.config``, e.g. read back from ``config.json``.

        Returns
        -------
        model
            A new instance of this class; load weights with ``load_state_dict``
            (or use :func:`load_model`, which does both).
        """
        if not isinstance(config, dict):
            raise param_error("config", "a dict (a model's .config)", config)
        import inspect

        params = inspect.signature(cls.__init__).parameters
        known = [name for name in params if name != "self"]
        unknown = [key for key in config if key not in known]
        if unknown:
            raise param_error(
                "config",
                f"a {cls.__name__} config with keys from {list_names(known)}",
                config,
                f"Unknown keys: {list_names(unknown)}.",
            )
        missing = [name for name in cls._positional if name not in config]
        if missing:
            raise param_error("config", f"a {cls.__name__} config with {list_names(missing)}", config)
        return cls(**config)


# --------------------------------------------------------------------------- CNNLSTM


class CNNLSTM(_RecurrentModel):
    """Conv1d blocks over the time axis, an LSTM over the pooled sequence, then a head.

    Per conv block: ``Conv1d`` -> ``BatchNorm1d`` (optional) -> ReLU ->
    ``MaxPool1d`` -> dropout.  The LSTM (``batch_first=True``) reads the pooled
    sequence; its last hidden state (both directions when bidirectional), the
    average of its outputs over time, or both (*head*) go through dropout and
    a ``Linear`` head.  Weights use PyTorch's default initialisation.  With the
    defaults and 4 features the model has ~29k parameters.

    Two optional regression paths are added to the head's output:

    * ``skip_index=j`` (persistence skip): ``x[:, -1, j]``, the last observed
      value of input feature *j*, so the network predicts the change from it.
      Use the index of the target in the inputs (``pipe.schema_["inputs"]
      .index(target)``): seqprep's Pipeline scales a target and its input
      column with the same statistics, so the skip is exact in scaled space.
    * ``linear_path=True``: a ``Linear`` on the flattened window
      ``(lookback * n_features -> outputs)``, initialised to zero, that can
      represent a ridge/AR solution (weight decay regularises it).  Needs
      *lookback*, and every input then has exactly ``lookback`` steps.

    Dict batches (windows with ``known`` / ``static`` covariates, categorical columns or
    ``nan_policy="mask"``; see :mod:`seqprep.diagnosis.batches`): build the model with
    ``inputs=windows.inputs`` (and ``horizon``, ``masks``), or with :meth:`from_windows`, and call
    it on the dict. Every categorical column gets an ``nn.Embedding`` (width
    :func:`~seqprep.diagnosis.batches.embedding_dim` of its number of codes, or *embedding_dims*).
    ``past``, ``past_mask`` (as 0/1 channels), the embedded ``past_cat``, and the first T rows of
    ``known``, ``known_mask`` and the embedded ``known_cat`` are joined along features before the
    conv blocks; their last H rows (the horizon) flattened, ``static`` and the embedded
    ``static_cat`` are joined to the LSTM summary read by the head. The keys ``weight``,
    ``target_loc`` and ``target_scale`` are the training loop's and are ignored here. The
    persistence skip and the linear path read ``past`` only; ``lengths`` is refused with a dict.

    Parameters
    ----------
    n_features : int
        Features C of the input windows ``(N, T, C)`` (with dict batches: the ``past`` columns).
    n_outputs : int, default 1
        Regression: number of targets.  Classification: number of classes
        (logits; ``n_outputs=1`` gives one logit for ``BCEWithLogitsLoss``).
    task : {"regression", "classification"}, default "regression"
    lookback : int, optional
        Window length T.  When given, the stack is checked against it up front
        (:func:`seqprep.shapes.plan_cnn_lstm`) and a too-short lookback raises
        a ShapeError naming the minimum.  Other lengths still work at call time.
    conv_channels : int or sequence of int, default (32, 32)
        Output channels of each conv block.
    kernel_size : int or sequence of int, default 3
        Per block, or one value for all blocks.
    pool : int, sequence of int or "auto", default 2
        Per block, or one value for all blocks; ``pool=1`` disables pooling.
        ``"auto"`` (needs *lookback*) picks per block the largest of 4, 2, 1
        that still leaves >= 16 steps for the LSTM: 24 steps stay 24, 150
        become 19 (pools 4, 2, 1), 251 become 16 (pools 4, 4, 1).  The
        resolved pools are in :attr:`pools`; the config keeps ``"auto"``.
    padding : {"same", "valid"}, default "same"
        ``"same"`` keeps the length through each conv and pools with
        ``ceil_mode=True``: any lookback >= 1 works.  ``"valid"`` shrinks it
        by ``kernel_size - 1`` per conv and floors at each pool.
    batch_norm : bool, default True
    dropout : float, default 0.1
        After each conv block, between stacked LSTM layers and before the head.
    lstm_hidden : int, default 64
    lstm_layers : int, default 1
    bidirectional : bool, default False
    horizons : int, optional
        Regression only: predict ``horizons`` steps of ``n_outputs`` targets;
        the output is reshaped to ``(N, horizons, n_outputs)``.
    head : {"last", "mean", "last+mean"}, default "last"
        What the head reads: the LSTM's last hidden state, the global average
        of its outputs over time (as the GAP of FCN/InceptionTime), or both
        concatenated.
    skip_index : int, optional
        Regression only: add ``x[:, -1, skip_index]`` to every output
        (persistence skip connection, see above).  ``0 <= skip_index < n_features``.
    linear_path : bool, default False
        Regression only: add a zero-initialised ``Linear`` on the flattened
        window (see above).  Needs *lookback*.
    multiscale : int, default 1
        Parallel convolutions per block (InceptionTime-like multi-scale
        block, needs ``padding="same"``): kernels ``k, 2k + 1, 4k + 3, ...``
        for the block's kernel ``k`` (``kernel_size=9, multiscale=3`` gives
        9/19/39), the block's channels split over them and concatenated
        before the batch norm.  ``1`` is the plain block.  :meth:`plan`
        describes plain blocks (its parameter count ignores the extra kernels).
    conv_summary : bool, default False
        Also feed the head the global average over time of the last conv
        block's features, concatenated with the LSTM summary: the two branches
        of LSTM-FCN (Karim et al., 2017), where the convolutional features reach
        the classifier directly as well as through the LSTM.
    inputs : dict, optional
        ``Windows.inputs`` of the windows the model reads as dict batches (see above): the columns of
        each role and the categorical cardinalities. None: plain ``(N, T, C)`` tensors (a dict
        holding only ``past`` is accepted too).
    horizon : int, optional
        With ``known`` inputs: H, the rows of ``known`` after the window's end (the windows'
        largest horizon); ``known`` then has ``T + H`` rows. Not to be confused with *horizons*,
        the number of output steps.
    masks : bool, default False
        Batches carry ``past_mask`` (and ``known_mask``): windows built with ``nan_policy="mask"``.
    embedding_dims : dict of str to int, optional
        Embedding width per categorical column, overriding the rule.

    Attributes
    ----------
    config : dict
        The constructor arguments, JSON-safe; ``CNNLSTM.from_config(config)``
        rebuilds the model.
    min_lookback : int
        Smallest input length the stack accepts.
    input_spec : dict
        What a dict batch must hold (:func:`seqprep.diagnosis.batches.input_spec`); without *inputs*,
        ``past`` only. :func:`seqprep.doctor` checks dict batches against it.
    pools : tuple of int
        The pool of each conv block (resolved when ``pool="auto"``).

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape ``(N, T, n_features)`` and returns
    ``(N, n_outputs)``, or ``(N, horizons, n_outputs)`` when *horizons* is set.

    Examples
    --------
    >>> import torch
    >>> from seqprep.models import CNNLSTM
    >>> _ = torch.manual_seed(0)
    >>> model = CNNLSTM(n_features=4, lookback=48)
    >>> model(torch.randn(8, 48, 4)).shape
    torch.Size([8, 1])
    >>> model.n_params
    28801
    >>> CNNLSTM(4, n_outputs=2, horizons=12)(torch.randn(8, 48, 4)).shape
    torch.Size([8, 12, 2])
    >>> model(torch.randn(8, 4, 48))
    Traceback (most recent call last):
    ...
    seqprep.exceptions.ShapeError: expected x in layout (N, T, C) with C = n_features = 4, got shape (8, 4, 48) ...
    >>> skip = CNNLSTM(4, lookback=14, skip_index=1, linear_path=True)  # predicts the change of feature 1
    >>> skip(torch.randn(8, 14, 4)).shape
    torch.Size([8, 1])
    >>> CNNLSTM(1, 3, task="classification", lookback=251, pool="auto", conv_channels=(8, 8, 8), head="mean").pools
    (4, 4, 1)
    >>> ms = CNNLSTM(1, 2, task="classification", kernel_size=9, multiscale=3, conv_channels=(32, 32))
    >>> ms(torch.randn(4, 60, 1)).shape
    torch.Size([4, 2])

    A dict batch with a known-in-advance input over the window and 3 horizon steps, and a
    categorical static input with 4 codes (``Windows.inputs`` gives these lists):

    >>> inputs = {"past": ["load", "temp"], "known": ["hour"], "static_cat": ["region"],
    ...           "cardinalities": {"region": 4}}
    >>> cov = CNNLSTM(2, inputs=inputs, horizon=3, horizons=3)
    >>> batch = {"past": torch.randn(8, 24, 2), "known": torch.randn(8, 27, 1),
    ...          "static_cat": torch.randint(0, 4, (8, 1))}
    >>> cov(batch).shape
    torch.Size([8, 3, 1])
    >>> cov({**batch, "known": torch.randn(8, 24, 1)})
    Traceback (most recent call last):
    ...
    seqprep.exceptions.ShapeError: 'known' has 24 rows per window, but the model reads T + H = 24 + 3 = 27: ...
    """

    _positional = ("n_features",)

    def __init__(
        self,
        n_features: int,
        n_outputs: int = 1,
        *,
        task: str = "regression",
        lookback: int | None = None,
        conv_channels: int | Sequence[int] = (32, 32),
        kernel_size: int | Sequence[int] = 3,
        pool: int | Sequence[int] = 2,
        padding: str = "same",
        batch_norm: bool = True,
        dropout: float = 0.1,
        lstm_hidden: int = 64,
        lstm_layers: int = 1,
        bidirectional: bool = False,
        horizons: int | None = None,
        head: str = "last",
        skip_index: int | None = None,
        linear_path: bool = False,
        multiscale: int = 1,
        conv_summary: bool = False,
        inputs: Mapping[str, Any] | None = None,
        horizon: int | None = None,
        masks: bool = False,
        embedding_dims: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        n_features = check_int(n_features, "n_features", minimum=1)
        self.input_spec, self.join, inputs_config = _dict_inputs(n_features, inputs, horizon, masks, embedding_dims)
        multiscale = check_int(multiscale, "multiscale", minimum=1)
        if multiscale > 1 and padding != "same":
            raise param_error(
                "padding", "'same' when multiscale > 1", padding,
                "The parallel kernels of a multi-scale block must keep the length: use padding='same'.",
            )
        padding = check_choice(padding, "padding", ("same", "valid"))
        if lookback is not None:
            lookback = check_int(lookback, "lookback", minimum=1)
        auto_pool = isinstance(pool, str)
        if auto_pool:
            if pool != "auto":
                raise param_error("pool", "an integer >= 1, one per block, or 'auto'", pool, "Use e.g. pool=2.")
            if lookback is None:
                raise param_error(
                    "lookback", "an integer when pool='auto'", lookback,
                    "Pass lookback=T (the window length) so the pools can be chosen from it.",
                )
            channels, _ = check_int_sequence(conv_channels, "conv_channels", minimum=1)
            pool = list(_auto_pools(lookback, per_block(kernel_size, "kernel_size", len(channels), 1), padding))
        a = self._check_common(
            n_outputs, task, conv_channels, kernel_size, pool, batch_norm, dropout,
            lstm_hidden, lstm_layers, bidirectional, horizons,
        )
        head = check_choice(head, "head", _HEADS)
        linear_path = check_bool(linear_path, "linear_path")
        conv_summary = check_bool(conv_summary, "conv_summary")
        if skip_index is not None:
            skip_index = check_int(skip_index, "skip_index", minimum=0)
            if skip_index >= n_features:
                raise param_error(
                    "skip_index", f"the index of an input feature, 0 <= skip_index < n_features = {n_features}",
                    skip_index, "Use the target's position in the inputs, e.g. pipe.schema_['inputs'].index(target).",
                )
        for name, value in (("skip_index", skip_index is not None), ("linear_path", linear_path)):
            if value and a["task"] != "regression":
                raise param_error(
                    name, "unset for task='classification'", skip_index if name == "skip_index" else linear_path,
                    "The persistence skip and the linear path add to regression outputs only.",
                )
        if linear_path and lookback is None:
            raise param_error(
                "lookback", "an integer when linear_path=True", lookback,
                "Pass lookback=T: the linear path reads the flattened (T, n_features) window.",
            )
        self.n_features = n_features
        self._conv_in = self.join.seq_channels if self.join is not None else n_features
        self.padding = padding
        self._a = a
        self.lookback = lookback
        self.pools: tuple[int, ...] = tuple(a["pools"])
        self.skip_index = skip_index
        self.multiscale = multiscale
        self.min_lookback = self.plan(1).min_lookback
        if lookback is not None:
            self.plan(lookback).check()

        blocks = []
        c_in = self._conv_in
        for c_out, k, p in zip(a["channels"], a["kernels"], a["pools"], strict=True):
            if c_out < multiscale:
                raise param_error(
                    "conv_channels", f"at least multiscale = {multiscale} channels per block", a["conv_channels"],
                    "Each parallel convolution of a multi-scale block needs at least one channel.",
                )
            blocks.append(_ConvBlock(1, c_in, c_out, k, p, padding, a["batch_norm"], a["dropout"], multiscale))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.conv_summary = conv_summary
        head_extra = self.join.extra_features if self.join is not None else 0
        self._build_recurrent(c_in, a, head, extra=(c_in if conv_summary else 0) + head_extra)
        self.linear: nn.Linear | None = None
        if linear_path:
            self.linear = nn.Linear(lookback * n_features, a["n_outputs"] * (a["horizons"] or 1))  # type: ignore[operator]
            nn.init.zeros_(self.linear.weight)
            nn.init.zeros_(self.linear.bias)
        self.config: dict[str, Any] = {
            "n_features": n_features,
            "n_outputs": a["n_outputs"],
            "task": a["task"],
            "lookback": lookback,
            "conv_channels": a["conv_channels"],
            "kernel_size": a["kernel_size"],
            "pool": "auto" if auto_pool else a["pool"],
            "padding": padding,
            "batch_norm": a["batch_norm"],
            "dropout": a["dropout"],
            "lstm_hidden": a["lstm_hidden"],
            "lstm_layers": a["lstm_layers"],
            "bidirectional": a["bidirectional"],
            "horizons": a["horizons"],
            "head": head,
            "skip_index": skip_index,
            "linear_path": linear_path,
            "multiscale": multiscale,
            "conv_summary": conv_summary,
            **inputs_config,
        }

    @classmethod
    def from_windows(cls, windows: Any, n_outputs: int = 1, **kwargs: Any) -> CNNLSTM:
        """A model for the batches of *windows*: its inputs, horizon and masks read from them.

        Parameters
        ----------
        windows : seqprep.Windows
            Windows (e.g. a fitted pipeline's ``split_.train``): ``windows.inputs`` gives the roles and
            cardinalities, one batch the past width, the known rows (``T + H``) and whether masks come.
        n_outputs : int, default 1
            As in :class:`CNNLSTM`.
        **kwargs
            Any other :class:`CNNLSTM` argument (``horizons``, ``conv_channels``, ...).

        Returns
        -------
        CNNLSTM
            Built with ``inputs=windows.inputs`` (when its batches are dicts), ``horizon`` and ``masks``.
        """
        if len(windows) == 0:
            raise param_error("windows", "windows holding at least one window", windows,
                              "Build the model from the training windows.")
        sample = windows[0:1]
        X = sample[0] if isinstance(sample, tuple) else sample
        if not isinstance(X, Mapping):
            shape = tuple(X.shape)
            if len(shape) != 3:
                raise ShapeError(f"from_windows needs (N, T, C) windows; these give X of shape {shape}.")
            return cls(shape[2], n_outputs, **kwargs)
        past = X["past"]
        known = X.get("known", X.get("known_cat"))
        horizon = None if known is None else int(known.shape[1]) - int(past.shape[1])
        return cls(int(past.shape[2]), n_outputs, inputs=windows.inputs, horizon=horizon,
                   masks="past_mask" in X, **kwargs)

    def plan(self, lookback: int) -> CNNLSTMPlan:
        """Layer shapes and parameter counts of this model for windows of length *lookback*.

        Parameters
        ----------
        lookback : int
            Window length T.

        Returns
        -------
        CNNLSTMPlan
            ``print(model.plan(48))`` shows the table; ``plan.n_params``
            equals ``model.n_params`` with ``head="last"``, no linear path, ``multiscale=1``, no
            ``conv_summary`` and no dict inputs (the plan describes the conv/LSTM stack, fed the joined
            sequence's channels, and a last-state head; embeddings and the head's extras are not in it).
        """
        a = self._a
        return plan_cnn_lstm(
            lookback,
            self._conv_in,
            conv=a["channels"],
            kernel_size=a["kernels"],
            pool=a["pools"],
            padding=self.padding,
            lstm=a["lstm_hidden"],
            lstm_layers=a["lstm_layers"],
            bidirectional=a["bidirectional"],
            n_outputs=a["n_outputs"] * (a["horizons"] or 1),
            batch_norm=a["batch_norm"],
            ceil_mode=self.padding == "same",
        )

    def _check_input(self, x: Any) -> None:
        self._check_tensor(x)
        shape = tuple(int(s) for s in x.shape)
        c = self.n_features
        how = "Build windows with seqprep.windows(..., layout='NTC')"
        if x.ndim != 3:
            text = f"expected x as a 3-D batch (N, T, C) with C = n_features = {c}, got shape {shape} ({x.ndim}-D)."
            if x.ndim == 2:
                fix = (
                    " If each row is one univariate window use seqprep.shapes.add_feature_axis(x) or "
                    "x.unsqueeze(-1); a single multivariate window needs x.unsqueeze(0)."
                )
            elif x.ndim == 4:
                fix = (
                    " A 4-D batch looks like sub-windows (N, S, steps, C): use TimeDistributedCNNLSTM, "
                    "or x.reshape(N, S * steps, C)."
                )
            else:
                fix = f" {how}."
            raise ShapeError(text + fix)
        if shape[2] != c:
            text = f"expected x in layout (N, T, C) with C = n_features = {c}, got shape {shape} "
            if shape[1] == c:
                raise ShapeError(
                    text + f"which looks channels-first (N, C, T) (layout 'NCT'). {how} or transpose "
                    "with x.permute(0, 2, 1)."
                )
            raise ShapeError(
                text + f"whose last axis has {shape[2]} features. Pass windows of the {c} features the "
                f"model was built with, or build the model with n_features={shape[2]}."
            )
        if shape[1] < self.min_lookback:
            raise ShapeError(str(self.plan(shape[1]).problem))

    def forward(
        self, x: torch.Tensor | Mapping[str, torch.Tensor], lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Map windows ``(N, T, n_features)`` to ``(N, n_outputs)`` or ``(N, horizons, n_outputs)``.

        ``x`` is a tensor, or a dict batch (see the class docstring) whose ``past`` is ``(N, T, n_features)``.

        ``lengths`` (classification, ``padding="same"``): an int tensor ``(N,)`` of valid steps per
        case, the cases padded at the end. The conv features of padded steps are zeroed after every
        block, the LSTM reads packed sequences, and the means over time (``head="mean"``,
        ``conv_summary``) use the valid steps only.
        """
        x, seq, head_extra = self._split_inputs(x, self.n_features, lengths)
        self._check_input(x)
        if lengths is not None:
            return self._masked_forward(x, lengths)
        if self.linear is not None and x.shape[1] != self.lookback:
            raise ShapeError(
                f"this model has a linear path over lookback = {self.lookback} steps, got windows of "
                f"{x.shape[1]} steps (x has shape {_shape_text(x)}). Pass windows of {self.lookback} steps."
            )
        h = self.blocks((x if seq is None else seq).permute(0, 2, 1))  # (N, C', T')
        # conv_summary: the conv features' global average joins the LSTM summary (LSTM-FCN's two branches);
        # with dict inputs, the horizon rows of the known inputs and the static inputs join it too.
        joined = [e for e in (h.mean(dim=2) if self.conv_summary else None, head_extra) if e is not None]
        out = self._recurrent_forward(h.permute(0, 2, 1), torch.cat(joined, dim=1) if joined else None)
        extra = None
        if self.linear is not None:
            extra = self.linear(x.reshape(x.shape[0], -1))
            if self.horizons is not None:
                extra = extra.reshape(out.shape)
        if self.skip_index is not None:
            last = x[:, -1, self.skip_index]
            last = last.reshape(-1, *([1] * (out.ndim - 1)))
            extra = last if extra is None else extra + last
        return out if extra is None else out + extra

    def _masked_forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Forward for padded cases: masks through the conv blocks, packed sequences through the LSTM."""
        if self.padding != "same" or self.linear is not None or self.skip_index is not None:
            raise param_error(
                "lengths", "None for a model with padding='valid', a linear path or a persistence skip", "a tensor",
                "Masks need length-keeping convolutions and no path that reads the flattened or last step.",
            )
        if not isinstance(lengths, torch.Tensor) or lengths.shape != (x.shape[0],):
            raise param_error("lengths", f"an integer tensor of shape ({x.shape[0]},) or None", lengths)
        steps = lengths.to(device=x.device, dtype=torch.long)
        if bool((steps < 1).any()) or bool((steps > x.shape[1]).any()):
            raise param_error("lengths", f"valid steps per case, 1 .. {x.shape[1]}", lengths)
        h = x.permute(0, 2, 1)
        h = h * _length_mask(h, steps)
        for module, pool in zip(self.blocks, self.pools, strict=True):
            block = cast(_ConvBlock, module)  # self.blocks holds _ConvBlocks only
            h = block.act(block.norm(block.conv(h if block._pad is None else F.pad(h, block._pad))))
            h = h * _length_mask(h, steps)
            h = block.drop(block.pool(h))  # the pool's last bin sees valid steps and zeros, never padding
            steps = torch.div(steps + pool - 1, pool, rounding_mode="floor")  # ceil_mode pooling
            mask = _length_mask(h, steps)
            h = h * mask
        extra = (h.sum(dim=2) / mask.sum(dim=2).clamp(min=1.0)) if self.conv_summary else None
        packed = nn.utils.rnn.pack_padded_sequence(h.permute(0, 2, 1), steps.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        outputs, (h_n, _) = self.lstm(packed)
        if self.head_mode == "last":
            summary = torch.cat((h_n[-2], h_n[-1]), dim=1) if self.bidirectional else h_n[-1]
        else:
            padded, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=h.shape[2])
            mean = (padded * mask.permute(0, 2, 1)).sum(dim=1) / mask.sum(dim=2).clamp(min=1.0)
            if self.head_mode == "mean":
                summary = mean
            else:
                last = torch.cat((h_n[-2], h_n[-1]), dim=1) if self.bidirectional else h_n[-1]
                summary = torch.cat((last, mean), dim=1)
        if extra is not None:
            summary = torch.cat((summary, extra), dim=1)
        out = self.head(self.head_dropout(summary))
        if self.horizons is not None:
            out = out.reshape(out.shape[0], self.horizons, self.n_outputs)
        return out


# --------------------------------------------------------------------------- time distributed


class TimeDistributedCNNLSTM(_RecurrentModel):
    """A shared CNN encodes each sub-window or image frame, then an LSTM reads the encodings.

    * ``frame_layout="NSTC"``: input ``(N, S, steps, C)`` -- S sub-windows of
      ``steps`` time steps (``seqprep.shapes.to_layout(X, "NTC", "NSTC",
      subsequences=S)``).  Conv1d blocks run on every sub-window with the same
      weights.
    * ``frame_layout="NTHWC"`` / ``"NTCHW"``: an image sequence ``(N, T, H, W, C)``
      or ``(N, T, C, H, W)``; Conv2d blocks run on every frame.

    Each conv block is conv -> batch norm? -> ReLU -> max pool -> dropout with
    ``"same"`` padding and ``ceil_mode`` pooling, so any sub-window or frame
    size works; a global average over time (or height and width) turns each
    sub-window/frame into a vector of ``conv_channels[-1]`` numbers.  The LSTM
    runs over these S (or T) vectors and the head reads its last hidden state.

    Parameters
    ----------
    in_channels : int
        Features C per time step (``NSTC``) or colour channels per frame.
    n_outputs : int, default 1
    task : {"regression", "classification"}, default "regression"
    frame_layout : {"NSTC", "NTHWC", "NTCHW"}, default "NSTC"
        Layout of the input batches.
    conv_channels, kernel_size, pool, batch_norm, dropout, lstm_hidden, lstm_layers, bidirectional, horizons
        As in :class:`CNNLSTM` (kernels and pools are square for frames).

    Notes
    -----
    ``forward(x)`` returns ``(N, n_outputs)``, or ``(N, horizons, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from seqprep.models import TimeDistributedCNNLSTM
    >>> _ = torch.manual_seed(0)
    >>> sub = TimeDistributedCNNLSTM(4)                          # (N, S, steps, C)
    >>> sub(torch.randn(8, 6, 10, 4)).shape
    torch.Size([8, 1])
    >>> video = TimeDistributedCNNLSTM(3, n_outputs=5, task="classification", frame_layout="NTHWC",
    ...                                conv_channels=(8, 16), lstm_hidden=16)
    >>> video(torch.randn(2, 7, 16, 16, 3)).shape
    torch.Size([2, 5])
    """

    _positional = ("in_channels",)

    def __init__(
        self,
        in_channels: int,
        n_outputs: int = 1,
        *,
        task: str = "regression",
        frame_layout: str = "NSTC",
        conv_channels: int | Sequence[int] = (32, 32),
        kernel_size: int | Sequence[int] = 3,
        pool: int | Sequence[int] = 2,
        batch_norm: bool = True,
        dropout: float = 0.1,
        lstm_hidden: int = 64,
        lstm_layers: int = 1,
        bidirectional: bool = False,
        horizons: int | None = None,
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        frame_layout = check_choice(frame_layout, "frame_layout", _FRAME_LAYOUTS)
        a = self._check_common(
            n_outputs, task, conv_channels, kernel_size, pool, batch_norm, dropout,
            lstm_hidden, lstm_layers, bidirectional, horizons,
        )
        self.in_channels = in_channels
        self.frame_layout = frame_layout
        dims = 1 if frame_layout == "NSTC" else 2
        blocks = []
        c_in = in_channels
        for c_out, k, p in zip(a["channels"], a["kernels"], a["pools"], strict=True):
            blocks.append(_ConvBlock(dims, c_in, c_out, k, p, "same", a["batch_norm"], a["dropout"]))
            c_in = c_out
        self.encoder = nn.Sequential(*blocks)
        self._build_recurrent(c_in, a)
        self.config: dict[str, Any] = {
            "in_channels": in_channels,
            "n_outputs": a["n_outputs"],
            "task": a["task"],
            "frame_layout": frame_layout,
            "conv_channels": a["conv_channels"],
            "kernel_size": a["kernel_size"],
            "pool": a["pool"],
            "batch_norm": a["batch_norm"],
            "dropout": a["dropout"],
            "lstm_hidden": a["lstm_hidden"],
            "lstm_layers": a["lstm_layers"],
            "bidirectional": a["bidirectional"],
            "horizons": a["horizons"],
        }

    def _check_input(self, x: Any) -> None:
        self._check_tensor(x)
        shape = tuple(int(s) for s in x.shape)
        c = self.in_channels
        layout = self.frame_layout
        if layout == "NSTC":
            if x.ndim != 4:
                text = (
                    f"expected x as a 4-D batch (N, S, steps, C) for frame_layout='NSTC' with "
                    f"C = in_channels = {c}, got shape {shape} ({x.ndim}-D)."
                )
                if x.ndim == 3:
                    fix = (
                        " Build sub-windows with seqprep.windows(..., layout='NSTC', subsequences=S), split "
                        "(N, T, C) windows with seqprep.shapes.to_layout(X, 'NTC', 'NSTC', subsequences=S), "
                        "or use CNNLSTM."
                    )
                elif x.ndim == 5:
                    fix = " A 5-D batch looks like an image sequence: use frame_layout='NTHWC' or 'NTCHW'."
                else:
                    fix = ""
                raise ShapeError(text + fix)
            if shape[3] != c:
                text = (
                    f"the last axis of x has {shape[3]} but in_channels is {c} "
                    f"(x has shape {shape}, frame_layout='NSTC')"
                )
                if shape[2] == c:
                    raise ShapeError(
                        text + "; your sub-windows look channels-first (N, S, C, steps): use x.transpose(2, 3)."
                    )
                raise ShapeError(
                    text + f". Pass {c} features per step, or build the model with in_channels={shape[3]}."
                )
            return
        if x.ndim != 5:
            text = (
                f"expected x as a 5-D image sequence {'(N, T, H, W, C)' if layout == 'NTHWC' else '(N, T, C, H, W)'} "
                f"for frame_layout={layout!r}, got shape {shape} ({x.ndim}-D)."
            )
            if x.ndim == 4:
                text += (
                    " A single image sequence needs a batch axis: x.unsqueeze(0); "
                    "sub-windows need frame_layout='NSTC'."
                )
            raise ShapeError(text)
        if layout == "NTHWC" and shape[4] != c:
            text = (
                f"the last axis of x has {shape[4]} but in_channels is {c} "
                f"(x has shape {shape}, frame_layout='NTHWC')"
            )
            if shape[2] == c:
                raise ShapeError(
                    text + "; your frames look channels-first: use frame_layout='NTCHW' or "
                    "seqprep.shapes.to_layout(X, 'NTCHW', 'NTHWC')."
                )
            raise ShapeError(text + f". Build the model with in_channels={shape[4]} if that is right.")
        if layout == "NTCHW" and shape[2] != c:
            text = f"axis 2 of x has {shape[2]} but in_channels is {c} (x has shape {shape}, frame_layout='NTCHW')"
            if shape[4] == c:
                raise ShapeError(
                    text + "; your frames look channels-last: use frame_layout='NTHWC' or "
                    "seqprep.shapes.to_layout(X, 'NTHWC', 'NTCHW')."
                )
            raise ShapeError(text + f". Build the model with in_channels={shape[2]} if that is right.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(N, S, steps, C)`` or image sequences to ``(N, n_outputs)`` / ``(N, horizons, n_outputs)``."""
        if isinstance(x, Mapping):
            raise param_error(
                "x", "a tensor of sub-windows or frames (TimeDistributedCNNLSTM does not read dict batches)",
                f"a dict with keys {list_names(x)}",
                "Use CNNLSTM.from_windows(windows) for windows with known/static/categorical inputs or masks.",
            )
        self._check_input(x)
        n, s = x.shape[0], x.shape[1]
        if self.frame_layout == "NSTC":
            flat = x.reshape(n * s, x.shape[2], x.shape[3]).permute(0, 2, 1)  # (N*S, C, steps)
        elif self.frame_layout == "NTHWC":
            flat = x.reshape(n * s, *x.shape[2:]).permute(0, 3, 1, 2)  # (N*T, C, H, W)
        else:
            flat = x.reshape(n * s, *x.shape[2:])
        h = self.encoder(flat)
        encoding = h.flatten(2).mean(dim=2)  # global average: (N*S, C')
        return self._recurrent_forward(encoding.reshape(n, s, -1))


def _length_mask(h: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """``(batch, 1, T)`` ones on each case's valid steps of ``h`` (``(batch, C, T)``), zeros on its padding."""
    return (torch.arange(h.shape[2], device=h.device)[None, :] < steps[:, None]).to(h.dtype)[:, None, :]
