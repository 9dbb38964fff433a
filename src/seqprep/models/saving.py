"""Saving seqprep models to a directory and loading them back: ``config.json`` + ``weights.pt``, no pickle.

This module imports torch; import :func:`save_model` / :func:`load_model` through :mod:`seqprep.models`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .._files import atomic_write, disk_errors
from .._manifest import CHECKSUMS_FILE, file_sha256, safe_member, verify_checksums, write_checksums
from .._validation import list_names, param_error
from .._version import __version__
from ..exceptions import ArtifactError
from .ensemble import _MEMBERS, Ensemble
from .minirocket import MiniRocketRidge

__all__ = ["load_model", "save_model"]

_FORMAT = "seqprep-model"
_FORMAT_VERSION = 1
_CONFIG_FILE = "config.json"
_WEIGHTS_FILE = "weights.pt"


# The classes save_model writes and load_model rebuilds by name: an ensemble's possible members, ensembles, and
# MiniRocket + ridge (buffers only).
_MODELS: dict[str, type[nn.Module]] = {**_MEMBERS, "Ensemble": Ensemble, "MiniRocketRidge": MiniRocketRidge}


_RESAVE = "Save the model again (seqprep.models.save_model) or train it again."


def save_model(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Save a seqprep model as ``config.json`` + ``weights.pt`` in the directory *path*.

    Each file is written atomically (temporary file, then ``os.replace``);
    ``config.json`` records the SHA-256 of the weights and ``checksums.json``
    (written last) that of both files, so a directory left by an interrupted
    save, or edited since, fails to load instead of loading mismatched weights.
    No pickle: the weights are a plain ``state_dict`` loaded back with
    ``torch.load(weights_only=True)``.

    Parameters
    ----------
    model : CNNLSTM, TimeDistributedCNNLSTM or Ensemble
        The model to save.
    path : str or path-like
        Directory; created (with its parents) when missing.  Existing
        ``config.json`` / ``weights.pt`` in it are replaced.

    Returns
    -------
    Path
        The directory.

    Examples
    --------
    >>> import tempfile, torch
    >>> from seqprep.models import CNNLSTM, save_model, load_model
    >>> model = CNNLSTM(n_features=3).eval()
    >>> x = torch.randn(2, 20, 3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     run = save_model(model, tmp)
    ...     files = sorted(p.name for p in run.iterdir())
    ...     same = torch.equal(load_model(run)(x), model(x))
    >>> files, same
    (['checksums.json', 'config.json', 'weights.pt'], True)
    """
    name = type(model).__name__
    if _MODELS.get(name) is not type(model):
        raise param_error(
            "model",
            f"one of seqprep's models ({list_names(_MODELS)})",
            model,
            "save other modules with torch.save(model.state_dict(), path).",
        )
    directory = Path(path)
    with disk_errors(directory):
        directory.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    weights = directory / _WEIGHTS_FILE
    (directory / CHECKSUMS_FILE).unlink(missing_ok=True)  # an interrupted re-save must not look complete
    with atomic_write(weights, "wb") as fh:
        torch.save(state, fh)
    meta = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "class": name,
        "config": model.config,
        "weights": _WEIGHTS_FILE,
        "weights_sha256": file_sha256(weights),
        "seqprep_version": __version__,
        "torch_version": torch.__version__,
    }
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    with atomic_write(directory / _CONFIG_FILE, "wb") as fh:
        fh.write(text.encode("utf-8"))
    with disk_errors(directory):
        write_checksums(directory, files=[_CONFIG_FILE, _WEIGHTS_FILE])
    return directory


def load_model(path: str | os.PathLike[str], *, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`save_model` and load its weights.

    Parameters
    ----------
    path : str or path-like
        Directory holding ``config.json`` and ``weights.pt``.
    map_location : str or torch.device, default "cpu"
        Where to load the weights.

    Returns
    -------
    CNNLSTM, TimeDistributedCNNLSTM or Ensemble
        The model, in eval mode.

    Raises
    ------
    ArtifactError
        If a file is missing or malformed, of an unknown format version or
        model class, or the weights do not match the config (hash or keys).
    """
    directory = Path(path)
    config_path = directory / _CONFIG_FILE
    if not config_path.is_file():
        raise ArtifactError(
            f"no {_CONFIG_FILE} in {directory}: expected a directory written by seqprep.models.save_model."
        )
    verify_checksums(directory, fix=_RESAVE, extra_ok=True)  # files of its own may sit beside a model
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{config_path} is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ArtifactError(f"{config_path} is not a seqprep model config (expected format {_FORMAT!r}).")
    if meta.get("format_version") != _FORMAT_VERSION:
        raise ArtifactError(
            f"{config_path} has format_version={meta.get('format_version')!r}; this seqprep ({__version__}) "
            f"reads format_version={_FORMAT_VERSION}. Load it with the seqprep version that saved it "
            f"({meta.get('seqprep_version')!r})."
        )
    cls = _MODELS.get(meta.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise ArtifactError(
            f"{config_path} names an unknown model class {meta.get('class')!r}; known: {list_names(_MODELS)}."
        )
    weights = safe_member(directory, meta.get("weights", _WEIGHTS_FILE), source=str(config_path))
    if not weights.is_file():
        raise ArtifactError(f"{config_path} refers to {weights.name}, which is missing from {directory}.")
    if file_sha256(weights) != meta.get("weights_sha256"):
        raise ArtifactError(
            f"{weights} does not match {config_path} (SHA-256 differs): the directory was modified or a save "
            "was interrupted. Save the model again."
        )
    try:
        model = cls.from_config(meta.get("config"))  # type: ignore[arg-type,attr-defined]
    except ValueError as exc:
        raise ArtifactError(f"{config_path} holds an invalid {cls.__name__} config: {exc}") from exc
    state = torch.load(weights, map_location=map_location, weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ArtifactError(f"{weights} does not fit the {cls.__name__} described in {config_path}: {exc}") from exc
    return model.eval()
