"""Data-parallel training under ``torchrun``: one process per device, each on its share of the windows.

:func:`fit_distributed` is called by every process of a script launched with
``torchrun --nproc_per_node=N script.py``. It joins the process group from the environment
variables ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``,
``LOCAL_RANK``), with the ``nccl`` backend on GPUs and ``gloo`` on CPUs, wraps the model in
``DistributedDataParallel`` and draws the training windows with a ``DistributedSampler``
(shuffled with ``seed``, reshuffled every epoch by ``set_epoch``). Every process holds the same
lazy windows (they are an index into the rows, so this costs the rows once per process, or nothing
with a memory-mapped export), and each fetches only its own batches.

``DistributedSampler`` pads the index list so that every process gets the same number of windows:
when ``len(train)`` is not a multiple of the number of processes, a few windows are seen twice per
epoch. The validation loss is exact (each window counted once: rank ``r`` takes windows
``r, r + N, ...``) and averaged over all processes.

Only rank 0 writes the model, atomically: a seqprep model with :func:`seqprep.models.save_model`
(``out_dir/model/``), any other module as a ``state_dict`` (``out_dir/model.pt``, loadable with
``torch.load(weights_only=True)``).

torch is imported inside the functions; ``import seqprep.distributed`` stays light.

Examples
--------
A script ``train.py``, launched with ``torchrun --nproc_per_node=2 train.py``::

    import numpy as np, seqprep
    from seqprep.models import CNNLSTM
    from seqprep.distributed import fit_distributed

    parts = seqprep.Pipeline(lookback=24, target="y").fit(df)
    result = fit_distributed(CNNLSTM(n_features=parts.train.shape[-1]), parts.train, parts.val,
                             epochs=10, batch_size=64, lr=1e-3, seed=0, out_dir="runs/ddp")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write
from .._validation import check_bool, check_choice, check_float, check_int, param_error
from ..exceptions import DataError, InvalidParameterError

__all__ = ["fit_distributed"]

_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _gpus_per_process() -> tuple[int, int]:
    """(CUDA devices on this node, processes torchrun started on this node)."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return gpus, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def _check_nccl(local_rank: int | None = None) -> None:
    """NCCL needs one GPU per process; two ranks on one GPU fail deep inside CUDA ("invalid device ordinal")."""
    gpus, local_world = _gpus_per_process()
    need = local_world if local_rank is None else local_rank + 1
    if gpus < need:
        fix = (f"launch at most {gpus} per node (torchrun --nproc_per_node={gpus}) or use backend='gloo'"
               if gpus else "use backend='gloo'")
        raise InvalidParameterError(
            f"`backend` 'nccl' needs one GPU per process, but this node has {gpus} GPU(s) for {local_world} "
            f"process(es): {fix} to train on the CPUs instead."
        )


def _init_group(backend: str | None) -> tuple[Any, bool]:
    """Join (or reuse) the default process group; returns (device, whether we created it)."""
    import torch
    import torch.distributed as dist

    created = False
    if not dist.is_initialized():
        missing = [v for v in _ENV if v not in os.environ]
        if missing:
            raise InvalidParameterError(
                f"fit_distributed must run under torchrun (or with a process group already initialised); the "
                f"environment lacks {', '.join(missing)}. Launch it with: torchrun --nproc_per_node=2 script.py"
            )
        if backend is None:
            # GPUs only when every local process gets its own: more processes than GPUs train on the CPUs.
            gpus, local_world = _gpus_per_process()
            backend = "nccl" if 0 < local_world <= gpus else "gloo"
        if backend == "nccl":
            _check_nccl()
        dist.init_process_group(backend=backend)
        created = True
    if dist.get_backend() == "nccl":
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank() % max(torch.cuda.device_count(), 1)))
        _check_nccl(local)
        torch.cuda.set_device(local)
        return torch.device("cuda", local), created
    return torch.device("cpu"), created


def _write_json_atomically(path: Path, obj: Any) -> None:
    with atomic_write(path) as fh:
        json.dump(obj, fh)


def _save(model: Any, out_dir: Path) -> Path:
    """Rank 0 only: seqprep models via save_model, other modules as an atomic state_dict file."""
    import torch

    from ..models import saving

    if saving._MODELS.get(type(model).__name__) is type(model):
        return saving.save_model(model, out_dir / "model")
    target = out_dir / "model.pt"
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_write(target, "wb") as fh:
        torch.save(state, fh)
    return target


def fit_distributed(
    model: Any,
    train: Any,
    val: Any = None,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    out_dir: str | os.PathLike[str],
    task: str = "regression",
    backend: str | None = None,
    log_indices: bool = False,
) -> dict[str, Any]:
    """Train ``model`` with DistributedDataParallel; call it from every process ``torchrun`` starts.

    Parameters
    ----------
    model : torch.nn.Module
        The same architecture in every process (rank 0's initial weights are broadcast by DDP).
    train, val : windows-like or tuple (X, y)
        ``len(w)`` and ``w[index_array] -> (X, y)`` (seqprep windows); the same in every process.
        ``val`` may be None.
    epochs, batch_size : int
        ``batch_size`` is per process.
    lr : float
        AdamW learning rate.
    seed : int
        Seeds torch/numpy and the ``DistributedSampler`` shuffle (identical on every rank).
    out_dir : str or path-like
        Where rank 0 saves the model (``model/`` or ``model.pt``) and, with ``log_indices``, every
        rank writes ``indices-rank{r}.json``.
    task : {"regression", "classification"}, default "regression"
        MSE on float targets, or cross-entropy on integer labels.
    backend : {"gloo", "nccl"}, optional
        Default: ``nccl`` when this node has a GPU for each of its processes, ``gloo`` (CPU) otherwise.
    log_indices : bool, default False
        Write the training window indices this rank saw, per epoch (for tests and audits).

    Returns
    -------
    dict
        ``rank``, ``world_size``, ``history`` (one record per epoch with ``train_loss`` and
        ``val_loss``, the same on every rank) and ``saved`` (the model path on rank 0, else None).

    Raises
    ------
    InvalidParameterError
        Bad arguments, or not launched by ``torchrun`` (the environment variables are missing).
    DataError
        A non-finite training loss.
    """
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler

    from ._loaders import _as_windows, _dataset_class, collate_batch
    from ._loop import _align, _make_criterion, move

    if not isinstance(model, torch.nn.Module):
        raise param_error("model", "a torch.nn.Module", type(model).__name__)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    lr = check_float(lr, "lr", minimum=0.0, inclusive=False)
    seed = check_int(seed, "seed", minimum=0)
    check_choice(task, "task", ("regression", "classification"))
    if backend is not None:
        check_choice(backend, "backend", ("gloo", "nccl"))
    log_indices = check_bool(log_indices, "log_indices")
    train = _as_windows(train, "train")
    val = _as_windows(val, "val") if val is not None else None
    if len(train) == 0:
        raise DataError("`train` has no window.")
    out = Path(out_dir)

    device, created = _init_group(backend)
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
        dist.barrier()
        torch.manual_seed(seed)
        np.random.seed(seed)
        model = model.to(device)
        ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        dataset = _dataset_class()(train, task=task)
        sampler: Any = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_batch)
        val_loader = None
        if val is not None and len(val):
            vset = _dataset_class()(val, task=task)
            mine = list(range(rank, len(vset), world))  # no padding: every window counted once
            val_loader = DataLoader(vset, batch_size=batch_size, sampler=mine, collate_fn=collate_batch)
        optimizer = torch.optim.AdamW(ddp.parameters(), lr=lr)
        criterion = _make_criterion(task, None)
        history: list[dict[str, float]] = []
        seen: list[list[int]] = []
        for epoch in range(epochs):
            sampler.set_epoch(epoch)
            if log_indices:
                seen.append([int(i) for i in sampler])
            ddp.train()
            sums = torch.zeros(4, dtype=torch.float64, device=device)
            for X, y in loader:
                X, y = move(X, device), y.to(device)  # a tensor or a dict batch
                optimizer.zero_grad(set_to_none=True)
                loss = criterion(_align(ddp(X), y, task), y)
                loss.backward()
                optimizer.step()
                sums[0] += loss.detach().double() * len(y)
                sums[1] += len(y)
            if val_loader is not None:
                ddp.eval()
                with torch.no_grad():
                    for X, y in val_loader:
                        X, y = move(X, device), y.to(device)  # a tensor or a dict batch
                        sums[2] += criterion(_align(ddp(X), y, task), y).double() * len(y)
                        sums[3] += len(y)
            dist.all_reduce(sums)
            train_loss = float(sums[0] / sums[1])
            if not np.isfinite(train_loss):
                raise DataError(
                    f"The training loss became {train_loss} in epoch {epoch}. Scale the inputs or lower `lr`."
                )
            history.append({
                "epoch": epoch,
                "train_loss": train_loss,
                "val_loss": float(sums[2] / sums[3]) if val_loader is not None else float("nan"),
            })
        saved = None
        if rank == 0:
            saved = str(_save(model, out))
        if log_indices:
            _write_json_atomically(
                out / f"indices-rank{rank}.json",
                {"rank": rank, "world_size": world, "n_train": len(train), "epochs": seen},
            )
        dist.barrier()
        return {"rank": rank, "world_size": world, "history": history, "saved": saved}
    finally:
        if created:
            dist.destroy_process_group()
