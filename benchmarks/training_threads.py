"""Training steps on 1 and 2 torch threads, quiet and with one competing busy process (same run).

    python benchmarks/training_threads.py                  # CNN-LSTM, 11 classes, batch 16 x 448 steps
    python benchmarks/training_threads.py --steps 1344 --repeats 3

Why: the automatic training thread count (:func:`seqprep._threads.training_threads`) takes at most
half the usable cores. This measures the reason on the machine at hand: ``--iters`` AdamW steps of
the default classification CNN-LSTM (the shape of a PLAID run after the compute plan: 448 steps,
one channel, 11 classes), with torch's intra-op count at 1 and at 2, alternating, each repetition
quiet and with one busy process (``_common.Competitor``: a spin loop in a session of its own). Wall
and CPU seconds per variant, the median over repetitions; the last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Competitor, conditions, emit_result, headline, load1, machine_info, median  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=448, help="time steps per case")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--classes", type=int, default=11)
    p.add_argument("--iters", type=int, default=20, help="optimizer steps per timed sample")
    p.add_argument("--repeats", type=int, default=3)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import torch

    from seqprep._threads import training_threads
    from seqprep.models import CNNLSTM

    torch.manual_seed(0)
    model = CNNLSTM(1, args.classes, task="classification")
    x = torch.randn(args.batch, args.steps, 1)
    y = torch.randint(0, args.classes, (args.batch,))
    opt = torch.optim.AdamW(model.parameters())
    n_params = sum(p.numel() for p in model.parameters())

    def run(k: int) -> None:
        for _ in range(k):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    samples: dict[str, list[tuple[float, float, float]]] = {}
    before = torch.get_num_threads()
    with Competitor() as busy:
        for r in range(args.repeats):
            for cond in conditions(r):
                busy.set(cond == "contended")
                for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
                    torch.set_num_threads(threads)
                    run(2)  # warm-up at this count
                    w0, c0 = time.perf_counter(), time.process_time()
                    run(args.iters)
                    sample = (time.perf_counter() - w0, time.process_time() - c0, load1())
                    samples.setdefault(f"{cond}/{threads}", []).append(sample)
        busy.set(False)
    torch.set_num_threads(before)
    auto = training_threads(n_params, args.batch, args.steps)
    print(f"CNN-LSTM {n_params:,} parameters, batch {args.batch} x {args.steps} steps, {args.iters} AdamW steps per "
          f"sample, {args.repeats} repetitions; usable cores {len(os.sched_getaffinity(0))}, automatic count {auto}")
    print("| condition | threads | wall s (median) | CPU s | wall / 1 thread | load1 |")
    print("|---|---|---|---|---|---|")
    rows: list[dict[str, Any]] = []
    for cond in ("quiet", "contended"):
        one = median([s[0] for s in samples[f"{cond}/1"]])
        for threads in (1, 2):
            s = samples[f"{cond}/{threads}"]
            wall = median([v[0] for v in s])
            loads = [v[2] for v in s]
            print(f"| {cond} | {threads} | {wall:.3f} | {median([v[1] for v in s]):.3f} | {wall / one:.2f} | "
                  f"{min(loads):.1f}-{max(loads):.1f} |")
            if threads == 2:
                rows.append(headline(f"{cond}: 2 threads / 1 thread wall time", round(wall / one, 2), "x"))
    emit_result("training_threads", vars(args), rows, machine=machine_info(), automatic_threads=auto,
                samples=samples)


if __name__ == "__main__":
    main()
