"""Keras on its default backend, TensorFlow: the Keras tests again, and seqprep with TensorFlow alone.

Each check runs in a subprocess with ``KERAS_BACKEND=tensorflow`` (a backend is fixed when keras is first
imported, and the rest of the suite uses torch). Skipped where TensorFlow is not installed
(``pip install 'seqprep[tf]'``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("keras") is None,
    reason="TensorFlow is not installed (pip install 'seqprep[tf]')",
)

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def test_keras_tests_pass_on_tensorflow():
    tests = ["tests/diagnosis/test_doctor_keras.py", "tests/windowing/test_windowing.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-k", "keras", *tests],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1], proc.stdout[-2000:]


_TF_ALONE = textwrap.dedent("""
    import importlib.abc, os, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError("No module named 'torch' (blocked: a TensorFlow-only install)")
            return None

    sys.meta_path.insert(0, NoTorch())
    import numpy as np, pandas as pd
    import keras
    from keras import layers
    import seqprep

    assert keras.backend.backend() == "tensorflow"
    df = pd.DataFrame({"a": np.sin(np.arange(400.0) / 7), "b": np.cos(np.arange(400.0) / 5)})
    pipe = seqprep.Pipeline(lookback=12, target="a", split=(0.7, 0.15, 0.15))
    parts = pipe.fit(df)
    model = keras.Sequential([keras.Input((12, 2)), layers.Conv1D(8, 3), layers.LSTM(8), layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(parts.train.to_keras(batch_size=32), validation_data=parts.val.to_keras(), epochs=1, verbose=0)
    pred = pipe.inverse_target(model.predict(parts.test.to_keras(), verbose=0))
    y = pipe.inverse_target(parts.test.to_numpy()[1])
    assert pred.shape == y.shape == (len(parts.test),), (pred.shape, y.shape)
    report = seqprep.doctor(model, windows=parts.test)
    assert report.ok, str(report)
    bad = keras.Sequential([layers.Conv1D(8, 5), layers.MaxPooling1D(2), layers.Conv1D(8, 5)])
    assert seqprep.doctor(bad, (2, 8, 2)).diagnosis.code == "LOOKBACK_TOO_SHORT"
    assert os.environ["KERAS_BACKEND"] == "tensorflow"
    assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
    print("OK")
""")


def test_to_keras_and_doctor_work_with_tensorflow_alone():
    proc = subprocess.run([sys.executable, "-c", _TF_ALONE], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stdout[-2000:] + proc.stderr[-4000:]
