"""Launched by tests/test_distributed.py under torchrun: train on tiny seqprep windows with 2 CPU processes."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pandas as pd
import torch

import seqprep
from seqprep.distributed import fit_distributed


def main() -> None:
    out_dir, kind = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    t = np.arange(404, dtype=np.float64)  # 275 training windows: odd, so the sampler pads one
    frame = pd.DataFrame({"y": np.sin(t / 7.0), "x": np.cos(t / 5.0)})
    parts = seqprep.Pipeline(lookback=8, target="y", split=(0.7, 0.15, 0.15)).fit(frame)
    torch.manual_seed(0)
    if kind == "seqprep":
        from seqprep.models import CNNLSTM

        model = CNNLSTM(n_features=2, conv_channels=(4,), lstm_hidden=4, dropout=0.0)
    else:
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8 * 2, 1))
    result = fit_distributed(
        model, parts.train, parts.val, epochs=2, batch_size=32, lr=1e-2, seed=3, out_dir=out_dir, log_indices=True
    )
    with open(os.path.join(out_dir, f"result-rank{result['rank']}.json"), "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
