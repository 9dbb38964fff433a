"""Averaging several trained seqprep models into one (:class:`Ensemble`).

This module imports torch; import :class:`Ensemble` through :mod:`seqprep.models`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from .._validation import param_error
from .cnn_lstm import CNNLSTM, TimeDistributedCNNLSTM
from .lstm_fcn import LSTMFCN

__all__ = ["Ensemble"]

# The models an ensemble can hold (and rebuild from its config); an ensemble is not one of them.
_MEMBERS: dict[str, Any] = {"CNNLSTM": CNNLSTM, "LSTMFCN": LSTMFCN, "TimeDistributedCNNLSTM": TimeDistributedCNNLSTM}


class Ensemble(nn.Module):
    """Average several trained seqprep models, as InceptionTime averages its five networks.

    Members are trained separately (e.g. with different seeds or kernel sizes); the ensemble
    only combines their outputs. For classification it returns the log of the mean of the members'
    softmax probabilities, so ``softmax`` of its output is exactly that mean and ``argmax`` the
    averaged vote (``seqprep.training.predict(..., proba=True)`` gives the probabilities); for
    regression it returns the mean of the members' outputs. It saves and loads like any seqprep
    model (:func:`save_model`, :func:`load_model`): one ``config.json`` lists the members' classes
    and configs, one ``weights.pt`` holds all their weights.

    Parameters
    ----------
    members : sequence of CNNLSTM or TimeDistributedCNNLSTM
        At least one model; all of the same task, ``n_outputs`` and ``horizons``.

    Examples
    --------
    >>> import torch
    >>> from seqprep.models import CNNLSTM, Ensemble
    >>> _ = torch.manual_seed(0)
    >>> members = [CNNLSTM(2, 3, task="classification", kernel_size=k) for k in (3, 5)]
    >>> ens = Ensemble(members).eval()
    >>> x = torch.randn(4, 30, 2)
    >>> mean_proba = torch.stack([m.eval()(x).softmax(-1) for m in members]).mean(0)
    >>> torch.allclose(ens(x).softmax(-1), mean_proba, atol=1e-6)
    True
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if isinstance(members, nn.Module) or not isinstance(members, Sequence) or not members:
            raise param_error("members", "a non-empty list of seqprep models", members,
                              "Pass e.g. Ensemble([model_a, model_b]).")
        for i, m in enumerate(members):
            if type(m) not in _MEMBERS.values():
                raise param_error(f"members[{i}]", "a CNNLSTM, LSTMFCN or TimeDistributedCNNLSTM", m,
                                  "Ensembles combine seqprep's own models (they save and load by config).")
        first = members[0]
        for i, m in enumerate(members[1:], start=1):
            for attr in ("task", "n_outputs", "horizons"):
                if getattr(m, attr) != getattr(first, attr):
                    raise param_error(f"members[{i}]", f"a model with {attr}={getattr(first, attr)!r} like members[0]",
                                      f"a model with {attr}={getattr(m, attr)!r}",
                                      "Every member must predict the same outputs.")
        self.members = nn.ModuleList(members)
        self.task: str = str(first.task)
        self.n_outputs: int = int(first.n_outputs)  # type: ignore[arg-type]  # a member's int attribute
        self.horizons: int | None = first.horizons  # type: ignore[assignment]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The members' mean: of softmax probabilities (returned as log-probabilities) or of regression outputs.

        ``lengths`` (valid steps per case) is passed to the members when given.
        """
        outs = torch.stack([m(x) if lengths is None else m(x, lengths) for m in self.members])
        if self.task == "classification":
            # log(mean(softmax)) computed stably: logsumexp of the log-probabilities minus log(n).
            return torch.logsumexp(F.log_softmax(outs.float(), dim=-1), dim=0) - math.log(len(self.members))
        return outs.mean(dim=0)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-safe: ``{"members": [{"class": ..., "config": ...}, ...]}``."""
        return {"members": [{"class": type(m).__name__, "config": m.config} for m in self.members]}

    @property
    def input_spec(self) -> dict[str, Any] | None:
        """What a dict batch must hold: the members' common input spec (None when they differ)."""
        specs = [getattr(m, "input_spec", None) for m in self.members]
        return specs[0] if all(spec == specs[0] for spec in specs) else None

    @property
    def n_params(self) -> int:
        """Number of trainable parameters, all members together."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Ensemble:
        """Rebuild the ensemble (fresh weights) from its :attr:`config`."""
        members = config.get("members") if isinstance(config, dict) else None
        if not isinstance(members, list) or not members:
            raise param_error("config", "{'members': [{'class': ..., 'config': ...}, ...]}", config)
        built = []
        for i, entry in enumerate(members):
            member_cls = _MEMBERS.get(str(entry.get("class"))) if isinstance(entry, dict) else None
            if member_cls is None:
                raise param_error(f"config['members'][{i}]", "{'class': 'CNNLSTM' or 'TimeDistributedCNNLSTM', "
                                  "'config': {...}}", entry)
            built.append(member_cls.from_config(entry.get("config")))
        return cls(built)
