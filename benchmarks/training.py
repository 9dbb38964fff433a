"""Benchmark: the demo's training time, quiet and with one competing busy process (``--contended``).

Trains what ``seqprep demo`` trains (Seattle weather, next-day temp_max, the default CNN-LSTM, 60
epochs at most, on the CPU, no run directory) with the automatic thread count (``default``) and
with torch's old default of two intra-op threads (``threads-2``, ``--old-epochs`` epochs: compared
per epoch, since on a busy machine it crawls), each in both conditions: quiet,
and with one busy process started by ``_common.Competitor``; the order alternates between
repetitions. Reported: the training seconds (``TrainResult.seconds``), the thread count used,
the test MAE (the same seed and thread count must give the same number in both conditions), and
the 1-minute load average at the start of each run.

Target (issue 16): training time with a competing busy process at most 1.5x the time without.

Usage::

    python benchmarks/training.py --contended              # 2 repeats
    python benchmarks/training.py --contended --repeats 3 --epochs 60
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Competitor,
    add_competitor_args,
    conditions,
    emit_result,
    headline,
    load1,
    machine_info,
    print_table,
)

VARIANTS = {"default": None, "threads-2": 2}


def train_once(epochs: int, threads: int | None, seed: int) -> dict[str, Any]:
    """One demo training (no run directory); seconds, threads, epochs and the test MAE."""
    from seqprep.cli._train import DEMO_FEATURES, DEMO_GAP, DEMO_LOOKBACK, DEMO_TARGET
    from seqprep.datasets import load_weather
    from seqprep.runs import default_derived_features, run_forecast

    res = run_forecast(
        load_weather(), target=DEMO_TARGET, time="date", features=DEMO_FEATURES, lookback=DEMO_LOOKBACK, horizon=1,
        gap=DEMO_GAP, derived=default_derived_features(), period=365, seed=seed, train_config={"epochs": epochs},
        progress=False, device="cpu", threads=threads,
    )
    h = res.history
    return {"s": h.seconds, "threads": h.threads, "epochs": len(h.history), "mae": res.metrics["cnn_lstm"]["mae"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contended", action="store_true",
                   help="measure with and without one competing busy process (the only mode; the flag is accepted "
                        "for symmetry with windows.py and panel.py)")
    add_competitor_args(p)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--epochs", type=int, default=60, help="epochs of the default runs (the demo's 60)")
    p.add_argument("--old-epochs", type=int, default=3,
                   help="epochs of the threads-2 runs (they crawl on a busy machine; compared per epoch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    info = machine_info()
    print(f"# demo training, quiet vs one busy core: {args.epochs} epochs max, seed {args.seed}, {args.repeats} "
          f"repeats | {info.get('cpu')} | nproc {info['nproc']} | affinity {info.get('affinity')} | torch "
          f"{torch.__version__} (default threads {torch.get_num_threads()})", flush=True)
    train_once(1, 1, args.seed)  # warm-up: imports, data, first-call costs
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {c: {v: [] for v in args.variants}
                                                           for c in ("quiet", "contended")}
    with Competitor(args.same_session) as busy:
        for r in range(args.repeats):
            for cond in conditions(r):
                busy.set(cond == "contended")
                for v in (args.variants if r % 2 == 0 else args.variants[::-1]):
                    load = load1()
                    epochs = args.epochs if v == "default" else args.old_epochs
                    out = train_once(epochs, VARIANTS[v], args.seed)
                    samples[cond][v].append({**out, "load1": load})
                    print(f"  repeat {r + 1} {cond:<9} {v:<9} load {load:5.2f}: {out['s']:.2f} s, {out['threads']} "
                          f"thread(s), {out['epochs']} epochs, test MAE {out['mae']:.4f}", flush=True)
    rows, stats = [], {}
    for cond, per in samples.items():
        for v, ss in per.items():
            secs = [s["s"] for s in ss]
            stats[f"{cond}/{v}"] = {"median_s": statistics.median(secs), "samples": ss}
            per_epoch = statistics.median([s["s"] / s["epochs"] for s in ss])
            stats[f"{cond}/{v}"]["per_epoch_s"] = per_epoch

            def values(key: str, fmt: str = "{}", ss: list[dict[str, Any]] = ss) -> str:
                return ",".join(sorted({fmt.format(s[key]) for s in ss}))

            rows.append([cond, v, f"{statistics.median(secs):.2f} ({min(secs):.2f}-{max(secs):.2f})",
                         f"{per_epoch:.3f}", values("threads"), values("epochs"), values("mae", "{:.4f}"),
                         f"{min(s['load1'] for s in ss):.1f}-{max(s['load1'] for s in ss):.1f}"])
    print()
    print_table(["condition", "threads", "training s, median (min-max)", "s per epoch", "thread count", "epochs",
                 "test MAE", "load1"], rows)
    out_rows = []
    for v in args.variants:
        ratio = stats[f"contended/{v}"]["per_epoch_s"] / stats[f"quiet/{v}"]["per_epoch_s"]
        same = len({s["mae"] for cond in samples for s in samples[cond][v]}) == 1  # per variant: same epochs
        target = ("<= 1.5", ratio <= 1.5) if v == "default" else (None, None)
        out_rows.append(headline(f"demo training contended / quiet time ({v})", round(ratio, 2), "x", *target))
        out_rows.append(headline(f"demo training quiet seconds per epoch ({v})",
                                 round(stats[f"quiet/{v}"]["per_epoch_s"], 3), "s"))
        out_rows.append(headline(f"demo test MAE identical in every run ({v})", 1.0 if same else 0.0, "", "1", same))
    emit_result("training-contended", vars(args), out_rows, stats=stats, machine=info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
