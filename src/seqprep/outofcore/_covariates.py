"""What streaming (and :mod:`seqprep.dask`) does not carry yet: issue 17's roles, refused up front.

The out-of-core export writes one float table of the past inputs and targets and reads windows back
as views of it; the ``known`` block over the horizon rows, the per-series ``static`` table, category
vocabularies, missing-value masks and weights have no place in that format yet. Rather than drop
them silently, :func:`check_no_covariates` refuses such a pipeline before anything is read or
written, naming what is not supported and the alternative.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._validation import list_names
from ..exceptions import NotSupportedError

__all__: list[str] = []  # internal to seqprep.outofcore; seqprep.dask imports check_no_covariates from its face

_ALTERNATIVE = (
    "Use Pipeline.fit in memory and iterate its windows lazily (parts.train.batches(...), to_torch(), the "
    "Lightning SeqprepDataModule): windows are views of the rows and static values are stored once per series. "
    "Or leave these roles out of this pipeline."
)


def _roles_asked(pipe: Any) -> list[str]:
    """The roles of *pipe* that streaming cannot carry, as the user spelled them."""
    roles = getattr(pipe, "roles", None)
    out: list[str] = []
    if roles is None:
        return out
    if getattr(roles, "known", ()):
        out.append(f"known={list(roles.known)}")
    if getattr(roles, "static", ()):
        out.append(f"static={list(roles.static)}")
    if getattr(roles, "weight", None) is not None or getattr(roles, "weight_map", None) is not None:
        out.append("weight")
    if getattr(roles, "mask", False):
        out.append("nan_policy='mask'")
    fitted = (getattr(pipe, "schema_", None) or {}).get("roles") or {}
    plan = fitted.get("plan") or {}
    cats = [c for key in ("past_cat", "known_cat", "static_cat") for c in plan.get(key, ())]
    if cats:
        out.append(f"categorical columns {list_names(cats)}")
    return out


def check_no_covariates(pipe: Any, where: str, categorical: Iterable[Any] = ()) -> None:
    """Refuse a pipeline with known/static/weight roles, masks or categorical columns.

    Parameters
    ----------
    pipe : Pipeline
        The pipeline about to be streamed.
    where : str
        How the message names this path ("for streaming", "with seqprep.dask").
    categorical : iterable of str
        Columns of the data already found categorical (text, category dtype) among those read.

    Raises
    ------
    NotSupportedError
        Naming each setting that is not supported yet and the alternative.
    """
    asked = _roles_asked(pipe)
    cats = [str(c) for c in categorical]
    if cats and not any(a.startswith("categorical") for a in asked):
        asked.append(f"categorical columns {list_names(cats)}")
    if asked:
        raise NotSupportedError(
            f"Covariate roles are not supported {where} yet (the export holds past inputs and targets only). "
            f"Received: {', '.join(asked)}. {_ALTERNATIVE}"
        )
