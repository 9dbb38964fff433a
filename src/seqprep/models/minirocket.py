"""MiniRocket + ridge as a seqprep model: fitted in closed form, saved and loaded like the networks.

Every case run scores MiniRocket as a baseline (:func:`seqprep.baselines.minirocket_classifier`).
When it wins, ``seqprep train --model minirocket`` makes it the run's model: the same transform and
ridge (:mod:`seqprep.rocket`), wrapped in a ``torch.nn.Module`` so that ``save_model``/``load_model``,
``predict`` and ``seqprep predict``/``evaluate`` treat it as they treat a network. Nothing is learned
by gradient descent: :meth:`MiniRocketRidge.fit_cases` sets the biases and the ridge once.

The state is buffers only (no pickle): the 9,996 biases, the features' training mean and scale, the
ridge's coefficients and intercept. The data-free rest of the transform (dilations, channel subsets)
is rebuilt from ``config`` (length, channels, seed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import check_choice, check_int, param_error
from ..exceptions import SeqprepError, ShapeError
from ..rocket import MiniRocket, RidgeClassifierLOO, RidgeLOO

__all__ = ["MiniRocketRidge"]


class MiniRocketRidge(nn.Module):
    """MiniRocket features and a ridge read-out for cases ``(N, lookback, n_features)``.

    Parameters
    ----------
    n_features : int
        Channels per step.
    n_outputs : int, default 1
        Classes (classification) or targets (regression).
    task : {"classification", "regression"}, default "classification"
        Classification returns one ridge score per class (``argmax`` is the label, as with logits);
        regression the predicted values.
    lookback : int
        Steps per case (the padded length): the dilations are spaced for it.
    seed : int, default 0
        Seeds the channel subsets and the training case behind each bias.

    Examples
    --------
    >>> import numpy as np, torch
    >>> X = np.random.default_rng(0).normal(size=(12, 40, 1)).astype("float32")
    >>> y = np.arange(12) % 2
    >>> model = MiniRocketRidge(1, 2, lookback=40).fit_cases(X, y)
    >>> model(torch.from_numpy(X)).shape, model.config["seed"]
    (torch.Size([12, 2]), 0)
    """

    biases: torch.Tensor  # the fitted state: buffers, saved in weights.pt
    feature_mean: torch.Tensor
    feature_scale: torch.Tensor
    coef: torch.Tensor
    intercept: torch.Tensor

    def __init__(self, n_features: int, n_outputs: int = 1, task: str = "classification", lookback: int = 9,
                 seed: int = 0) -> None:
        super().__init__()
        self.n_features = check_int(n_features, "n_features", minimum=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
        self.task = check_choice(task, "task", ("classification", "regression"))
        self.lookback = check_int(lookback, "lookback", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        self.transform = MiniRocket(self.seed).layout(self.lookback, self.n_features)
        p = self.transform.n_features
        self.transform.biases_ = np.zeros(p, dtype=np.float32)  # set by fit_cases or load_state_dict
        self.register_buffer("biases", torch.zeros(p, dtype=torch.float32))
        self.register_buffer("feature_mean", torch.zeros(p, dtype=torch.float64))
        self.register_buffer("feature_scale", torch.ones(p, dtype=torch.float64))
        self.register_buffer("coef", torch.zeros(p, self.n_outputs, dtype=torch.float64))
        self.register_buffer("intercept", torch.zeros(self.n_outputs, dtype=torch.float64))
        self.config: dict[str, Any] = {"n_features": self.n_features, "n_outputs": self.n_outputs, "task": self.task,
                                       "lookback": self.lookback, "seed": self.seed}
        self.alpha_: float | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MiniRocketRidge:
        """An unfitted model of this config; ``load_state_dict`` then sets the fitted buffers."""
        if not isinstance(config, dict):
            raise ValueError(f"expected a dict, got {type(config).__name__}")
        try:
            return cls(**config)
        except (TypeError, SeqprepError) as exc:  # load_model reports a ValueError as an invalid config
            raise ValueError(str(exc)) from None

    def fit_cases(self, X: Any, y: Any, lengths: Any = None) -> MiniRocketRidge:
        """Fit the biases on the cases, then the ridge (penalty by leave-one-out error) on their features.

        ``y`` holds integer labels ``0 .. n_outputs - 1`` (classification) or values (regression).
        """
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3 or X.shape[2] != self.n_features:
            raise ShapeError(f"MiniRocketRidge expects cases (N, T, {self.n_features}). Received: {X.shape}.")
        transform = MiniRocket(self.seed).fit(X, lengths)
        if transform.length_ != self.transform.length_:
            raise param_error("lookback", f"the cases' length {X.shape[1]}", self.lookback,
                              "Build the model with lookback = the padded length of the cases.")
        F = transform.transform(X, lengths)
        y = np.asarray(y)
        if self.task == "classification":  # +-1 targets, one output per class
            ridge = RidgeClassifierLOO().fit(F, y, n_classes=self.n_outputs).ridge_
        else:
            ridge = RidgeLOO().fit(F, y.astype(np.float64).reshape(len(y), -1))
        self.transform = transform
        self.alpha_ = ridge.alpha_
        with torch.no_grad():
            self.biases.copy_(torch.from_numpy(transform.biases_))
            self.feature_mean.copy_(torch.from_numpy(ridge.mean_))
            self.feature_scale.copy_(torch.from_numpy(ridge.scale_))
            self.coef.copy_(torch.from_numpy(ridge.coef_))
            self.intercept.copy_(torch.from_numpy(ridge.intercept_))
        return self

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        # the transform's biases are the loaded buffer: rebuild it so forward reads them
        self.transform = MiniRocket.from_biases(self.lookback, self.n_features, self.seed,
                                                self.biases.detach().cpu().numpy())

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``(N, n_outputs)`` for cases ``(N, T, n_features)`` (``lengths`` valid steps each)."""
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[2] != self.n_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ShapeError(f"MiniRocketRidge expects cases (N, T, {self.n_features}). Received: {shape}.")
        X = x.detach().to("cpu", torch.float32).numpy()
        L = None if lengths is None else lengths.detach().cpu().numpy()
        F = torch.from_numpy(self.transform.transform(X, L).astype(np.float64))
        Z = (F.to(self.coef.device) - self.feature_mean) / self.feature_scale
        return (Z @ self.coef + self.intercept).to(x.device, torch.float32)
