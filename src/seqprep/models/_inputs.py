"""Dict batches into the reference models: embeddings, the sequence the convolutions read, the head's extras.

Internal module (the models import it). :class:`InputJoin` turns a dict batch (see
:mod:`seqprep.diagnosis.batches`) into

* ``seq`` ``(B, T, C_seq)``: ``past``, then ``past_mask`` as 0/1 channels, the embedded ``past_cat``,
  ``known[:, :T]``, ``known_mask[:, :T]`` and the embedded ``known_cat[:, :T]``, joined along features;
* ``extra`` ``(B, E)`` or None: ``known[:, T:]`` (with its mask and embedded codes) flattened over the
  H horizon rows, ``static`` and the embedded ``static_cat``, joined for the head.

The batch is checked first with :func:`seqprep.diagnosis.batches.check_dict_batch`; a problem raises
:class:`~seqprep.exceptions.ShapeError` (or :class:`~seqprep.exceptions.DataError` for category codes)
with the diagnosis' one-line cause and fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .._validation import check_int, list_names, param_error
from ..diagnosis.batches import META_KEYS, check_dict_batch, embedding_dim
from ..exceptions import DataError, ShapeError

__all__: list[str] = []  # internal module

_DATA_CODES = ("CATEGORY_OUT_OF_RANGE", "CATEGORY_NOT_INTEGER")


def raise_diagnosis(diag: Any) -> None:
    """Raise the error a batch diagnosis stands for: the cause, then the fix."""
    text = f"{diag.message} Fix: {diag.fix[:1].upper()}{diag.fix[1:]}"
    raise (DataError if diag.code in _DATA_CODES else ShapeError)(text)


def embedding_dims(spec: Mapping[str, Any], given: Mapping[str, int] | None) -> dict[str, int]:
    """Width of every categorical column's embedding: *given* ones, the rule of :func:`embedding_dim` else."""
    cards = {c: n for role in ("past_cat", "known_cat", "static_cat") for c, n in spec[role].items()}
    given = dict(given or {})
    unknown = [c for c in given if c not in cards]
    if unknown:
        raise param_error("embedding_dims", f"a dict over the categorical columns ({list_names(cards)})", given,
                          f"Unknown columns: {list_names(unknown)}.")
    return {c: check_int(given[c], f"embedding_dims[{c!r}]", minimum=1) if c in given else embedding_dim(n)
            for c, n in cards.items()}


class InputJoin(nn.Module):
    """Embeds and joins the keys of a dict batch (see the module docstring).

    Parameters
    ----------
    spec : dict
        The model's input spec (:func:`seqprep.diagnosis.batches.input_spec`).
    dims : dict of str to int
        Embedding width per categorical column (:func:`embedding_dims`).
    """

    def __init__(self, spec: Mapping[str, Any], dims: Mapping[str, int]) -> None:
        super().__init__()
        self.spec = dict(spec)
        self.horizon = int(spec["horizon"])
        self.masks = bool(spec["masks"])
        self.embeddings = nn.ModuleDict()
        self._columns: dict[str, list[str]] = {}
        for role in ("past_cat", "known_cat", "static_cat"):
            self._columns[role] = list(spec[role])
            for j, (col, n_codes) in enumerate(spec[role].items()):
                # ModuleDict keys may not hold dots: a column is named by its role and position
                self.embeddings[f"{role}{j}"] = nn.Embedding(n_codes, dims[col])
        width = {role: sum(dims[c] for c in spec[role]) for role in self._columns}
        mask = 1 if self.masks else 0
        self.seq_channels = (spec["past"] * (1 + mask) + width["past_cat"]
                             + spec["known"] * (1 + mask) + width["known_cat"])
        self.extra_features = (self.horizon * (spec["known"] * (1 + mask) + width["known_cat"])
                               + spec["static"] + width["static_cat"])

    def _embed(self, role: str, codes: torch.Tensor) -> torch.Tensor:
        parts = [self.embeddings[f"{role}{j}"](codes[..., j].long()) for j in range(codes.shape[-1])]
        return torch.cat(parts, dim=-1)

    def forward(self, x: Mapping[str, Any], dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(seq, extra)`` of a dict batch already checked with :func:`check_batch`, in *dtype* (the model's)."""
        past = x["past"]
        T, H = past.shape[1], self.horizon
        seq = [past]
        extra: list[torch.Tensor] = []
        if self.masks:
            seq.append(x["past_mask"].to(dtype))
        if self._columns["past_cat"]:
            seq.append(self._embed("past_cat", x["past_cat"]))
        future: list[torch.Tensor] = []
        if self.spec["known"]:
            known = x["known"].to(dtype)
            seq.append(known[:, :T])
            future.append(known[:, T:])
            if self.masks:
                known_mask = x["known_mask"].to(dtype)
                seq.append(known_mask[:, :T])
                future.append(known_mask[:, T:])
        if self._columns["known_cat"]:
            emb = self._embed("known_cat", x["known_cat"])
            seq.append(emb[:, :T])
            future.append(emb[:, T:])
        if future and H:
            extra.append(torch.cat(future, dim=-1).reshape(past.shape[0], -1))
        if self.spec["static"]:
            extra.append(x["static"].to(dtype))
        if self._columns["static_cat"]:
            extra.append(self._embed("static_cat", x["static_cat"]))
        joined = torch.cat([s.to(dtype) for s in seq], dim=-1) if len(seq) > 1 else past
        return joined, (torch.cat([e.to(dtype) for e in extra], dim=-1) if extra else None)


def check_batch(x: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
    """Raise the first problem of dict batch *x* for *spec*; the values must be torch tensors."""
    for key, value in x.items():
        if key not in META_KEYS and not isinstance(value, torch.Tensor):
            raise param_error(f"x[{key!r}]", "a torch.Tensor", value,
                              "Convert the batch with {k: torch.as_tensor(v) for k, v in x.items()} "
                              "(seqprep's to_torch() gives tensors).")
    diag = check_dict_batch(x, spec)
    if diag is not None:
        raise_diagnosis(diag)


def plain_spec(n_features: int) -> dict[str, Any]:
    """The spec of a model built without ``inputs``: a dict batch may carry ``past`` (and meta keys) only."""
    return {"past": n_features, "past_cat": {}, "known": 0, "known_cat": {}, "static": 0, "static_cat": {},
            "horizon": 0, "masks": False}
