"""seqprep.doctor on Keras 3 models.

Run here on the torch backend (tests/conftest.py), and again on TensorFlow by tests/test_keras_tensorflow.py
(KERAS_BACKEND=tensorflow in a subprocess): the diagnoses come from the layers' arithmetic, not the backend's errors.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # the test default; the user's value is never changed by seqprep
keras = pytest.importorskip("keras")
layers = keras.layers

from seqprep.diagnosis import LayerRow, doctor  # noqa: E402


def _functional_cnn_lstm(t=30, c=4):
    inp = keras.Input((t, c), name="x")
    z = layers.Conv1D(8, 3, name="conv")(inp)
    z = layers.MaxPooling1D(2, name="pool")(z)
    z = layers.LSTM(6, name="lstm")(z)
    out = layers.Dense(1, name="head")(z)
    return keras.Model(inp, out)


CORPUS = [
    ("conv1d_2d_input", lambda: keras.Sequential([layers.Conv1D(8, 3, name="conv"), layers.LSTM(4)]), (2, 30),
     "MISSING_FEATURE_AXIS", "conv", ["X[..., None]", "add_feature_axis"]),
    ("lstm_4d_subwindows", lambda: keras.Sequential([layers.LSTM(8, name="lstm")]), (2, 3, 10, 4),
     "SUBWINDOW_NOT_FOLDED", "lstm", ["TimeDistributed", "(N, 3, features)"]),
    ("conv1d_4d_subwindows", lambda: keras.Sequential([layers.Conv1D(8, 3, name="conv")]), (2, 3, 10, 4),
     "SUBWINDOW_NOT_FOLDED", "conv", ["layers.TimeDistributed(layers.Conv1D(...))"]),
    ("input_feature_mismatch", _functional_cnn_lstm, (2, 30, 5), "FEATURE_MISMATCH", "x",
     ["keras.Input(shape=(30, 5))", "4 feature columns"]),
    ("input_channels_first", _functional_cnn_lstm, (2, 4, 30), "CHANNELS_FIRST_TO_KERAS", "x",
     ["layout='NTC'", "np.transpose(X, (0, 2, 1))"]),
    ("input_lookback_mismatch", _functional_cnn_lstm, (2, 24, 4), "LOOKBACK_MISMATCH", "x",
     ["lookback=30", "shape=(None, 4)"]),
    ("built_layer_feature_mismatch",
     lambda: keras.Sequential([keras.Input((30, 4)), layers.Conv1D(8, 3, name="conv")]), (2, 30, 6),
     "FEATURE_MISMATCH", "conv", ["keras.Input(shape=(30, 6))"]),
    ("subwindow_reshape_not_divisible",
     lambda: keras.Sequential([layers.Reshape((4, 7, 4), name="split"),
                               layers.TimeDistributed(layers.Conv1D(8, 3), name="td")]), (2, 30, 4),
     "SUBWINDOW_NOT_DIVISIBLE", "split", ["1, 2, 3, 5, 6, 10, 15, 30", "subsequences"]),
    ("time_distributed_without_subwindows",
     lambda: keras.Sequential([layers.TimeDistributed(layers.Conv1D(8, 3), name="td"), layers.LSTM(4)]), (2, 30, 4),
     "SUBWINDOW_AXIS_MISSING", "td", ["layers.Reshape((S, 30 // S, 4))", "1, 2, 3, 5, 6, 10, 15, 30"]),
    ("conv2d_frames_channels_first",
     lambda: keras.Sequential([keras.Input((5, 16, 16, 3)), layers.TimeDistributed(layers.Conv2D(4, 3), name="td")]),
     (2, 5, 3, 16, 16), "FRAMES_CHANNEL_ORDER", "td", ["'NTHWC'", "transpose(0, 1, 3, 4, 2)"]),
    ("lookback_too_short",
     lambda: keras.Sequential([layers.Conv1D(8, 5, name="c1"), layers.MaxPooling1D(2, name="p1"),
                               layers.Conv1D(8, 5, name="c2")]), (2, 8, 4),
     "LOOKBACK_TOO_SHORT", "c2", ["lookback >= 14"]),
    # on TensorFlow the pooling fails inside oneDNN ("could not create a descriptor"): arithmetic, not error text
    ("lookback_too_short_conv_pool_stack",
     lambda: keras.Sequential([layers.Conv1D(8, 3, name="c1"), layers.MaxPooling1D(2, name="p1"),
                               layers.Conv1D(8, 3, name="c2"), layers.MaxPooling1D(2, name="p2"),
                               layers.LSTM(4), layers.Dense(1)]), (2, 8, 4),
     "LOOKBACK_TOO_SHORT", "p2", ["lookback >= 10", "8 -> 6 (Conv1D 'c1') -> 3 (MaxPooling1D 'p1')"]),
    ("stacked_lstm_without_return_sequences",
     lambda: keras.Sequential([layers.LSTM(8, name="l1"), layers.LSTM(4, name="l2"), layers.Dense(1)]), (2, 30, 4),
     "RNN_NO_SEQUENCES", "l2", ["return_sequences=True", "'l1'", "do not add a feature axis"]),
    ("stacked_bidirectional_without_return_sequences",
     lambda: keras.Sequential([layers.Bidirectional(layers.GRU(8), name="b1"), layers.Dropout(0.1),
                               layers.GRU(4, name="g2")]), (2, 30, 4),
     "RNN_NO_SEQUENCES", "g2", ["layers.Bidirectional(layers.GRU(..., return_sequences=True))"]),
    ("conv2d_frames_channels_first_without_input",
     lambda: keras.Sequential([layers.TimeDistributed(layers.Conv2D(4, 3), name="td"),
                               layers.TimeDistributed(layers.Flatten()), layers.LSTM(4)]),
     (2, 5, 3, 16, 16), "FRAMES_CHANNEL_ORDER", "td", ["'NTHWC'", "channels-first (N, T, C=3, H=16, W=16)"]),
]


@pytest.mark.parametrize(("model_fn", "shape", "code", "layer", "words"),
                         [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_keras_corpus(model_fn, shape, code, layer, words):
    keras.utils.set_random_seed(0)
    report = doctor(model_fn(), shape)
    assert report.framework == "keras"
    assert not report.ok and report.error
    assert "\x1b[" not in report.error  # Keras' ANSI bold is stripped
    assert report.diagnosis is not None
    assert report.diagnosis.code == code, str(report)
    assert report.diagnosis.layer == layer
    for word in words:
        assert word in report.diagnosis.fix or word in report.diagnosis.message, (word, str(report))


def test_keras_lookback_trace():
    model = keras.Sequential([layers.Conv1D(8, 5, name="c1"), layers.MaxPooling1D(2, name="p1"),
                              layers.Conv1D(8, 5, name="c2")])
    report = doctor(model, (2, 8, 4))
    assert "8 -> 4 (Conv1D 'c1') -> 2 (MaxPooling1D 'p1') -> 0 (Conv1D 'c2')" in report.diagnosis.message
    assert [r.name for r in report.rows] == ["c1", "p1", "c2"]
    assert report.rows[-1].output_shape is None
    fresh = keras.Sequential([layers.Conv1D(8, 5), layers.MaxPooling1D(2), layers.Conv1D(8, 5)])
    assert doctor(fresh, (2, 14, 4)).ok
    fresh = keras.Sequential([layers.Conv1D(8, 5), layers.MaxPooling1D(2), layers.Conv1D(8, 5)])
    assert not doctor(fresh, (2, 13, 4)).ok


def test_keras_working_functional_table():
    model = _functional_cnn_lstm()
    report = doctor(model, (2, 30, 4))
    assert report.ok and report.diagnosis is None and report.warnings == []
    assert report.rows == [
        LayerRow("conv", "Conv1D", (2, 30, 4), (2, 28, 8), 3 * 4 * 8 + 8),
        LayerRow("pool", "MaxPooling1D", (2, 28, 8), (2, 14, 8), 0),
        LayerRow("lstm", "LSTM", (2, 14, 8), (2, 6), 4 * (8 * 6 + 6 * 6 + 6)),
        LayerRow("head", "Dense", (2, 6), (2, 1), 6 + 1),
    ]
    assert report.n_params == model.count_params()
    assert report.output_shape == (2, 1)
    assert "OK: forward pass (2, 30, 4) -> (2, 1)" in str(report)


def test_keras_working_sequential_subwindows_from_array():
    model = keras.Sequential([
        layers.Reshape((5, 6, 4)),
        layers.TimeDistributed(layers.Conv1D(8, 3)),
        layers.TimeDistributed(layers.Flatten()),
        layers.LSTM(6),
        layers.Dense(1),
    ])
    X = np.random.default_rng(0).standard_normal((20, 30, 4))
    report = doctor(model, X, batch_size=3)
    assert report.ok, str(report)
    assert [r.output_shape for r in report.rows] == [(3, 5, 6, 4), (3, 5, 4, 8), (3, 5, 32), (3, 6), (3, 1)]
    assert report.n_params == sum(layer.count_params() for layer in model.layers) == 1 * (3 * 4 * 8 + 8) + 4 * (
        32 * 6 + 6 * 6 + 6) + 7


def test_keras_sequence_head_warns():
    model = keras.Sequential([layers.LSTM(6, return_sequences=True), layers.Dense(1)])
    report = doctor(model, (2, 30, 4))
    assert report.ok
    assert [w.code for w in report.warnings] == ["SEQUENCE_TO_HEAD"]
    assert "return_sequences=False" in report.warnings[0].fix


def test_keras_stacked_lstm_done_right_is_ok():
    model = keras.Sequential([layers.LSTM(8, return_sequences=True), layers.Dropout(0.1), layers.LSTM(4),
                              layers.Dense(1)])
    assert doctor(model, (2, 30, 4)).ok


def test_keras_channels_last_frames_are_ok():
    model = keras.Sequential([layers.TimeDistributed(layers.Conv2D(4, 3)), layers.TimeDistributed(layers.Flatten()),
                              layers.LSTM(4)])
    assert doctor(model, (2, 5, 16, 16, 3)).ok


def test_doctor_leaves_keras_backend_alone(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    doctor(keras.Sequential([layers.LSTM(4)]), (2, 30, 4))
    assert "KERAS_BACKEND" not in os.environ
