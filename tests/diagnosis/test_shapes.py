from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pytest

from seqprep.exceptions import InvalidParameterError, ShapeError
from seqprep.shapes import CNNLSTMPlan, PlanRow, add_feature_axis, plan_cnn_lstm, to_layout

# --------------------------------------------------------------------------- add_feature_axis


def test_add_feature_axis_is_a_view(rng):
    X = rng.normal(size=(32, 140))
    out = add_feature_axis(X)
    assert out.shape == (32, 140, 1)
    assert np.shares_memory(out, X)
    np.testing.assert_array_equal(out[:, :, 0], X)


def test_add_feature_axis_rejects_1d_with_the_fix():
    with pytest.raises(ShapeError, match=re.escape("X[None, :, None]")) as info:
        add_feature_axis(np.zeros(500))
    assert "seqprep.windows" in str(info.value)
    assert "(500,)" in str(info.value)


def test_add_feature_axis_rejects_3d():
    with pytest.raises(ShapeError, match="already has a feature axis"):
        add_feature_axis(np.zeros((2, 3, 1)))


def test_add_feature_axis_accepts_lists():
    assert add_feature_axis([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2, 1)


# --------------------------------------------------------------------------- to_layout


@pytest.mark.parametrize("src", ["NTC", "NCT", "NSTC"])
@pytest.mark.parametrize("dst", ["NTC", "NCT", "NSTC"])
def test_window_layouts_round_trip(rng, src, dst):
    ntc = rng.normal(size=(5, 12, 3))
    x = to_layout(ntc, "NTC", src, subsequences=4 if src == "NSTC" else None)
    y = to_layout(x, src, dst, subsequences=4 if dst == "NSTC" and src != "NSTC" else None)
    expected = {"NTC": (5, 12, 3), "NCT": (5, 3, 12), "NSTC": (5, 4, 3, 3)}[dst]
    assert y.shape == expected
    back = to_layout(y, dst, "NTC")
    np.testing.assert_array_equal(back, ntc)


def test_nstc_splits_time_in_order():
    X = np.arange(2 * 6 * 1).reshape(2, 6, 1)
    out = to_layout(X, "NTC", "NSTC", subsequences=3)
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 1], [2, 3], [4, 5]])


def test_views_and_copies(rng):
    X = rng.normal(size=(4, 8, 2))
    nct = to_layout(X, "NTC", "NCT")
    assert np.shares_memory(nct, X)
    assert not nct.flags.c_contiguous
    assert np.shares_memory(to_layout(X, "NTC", "NSTC", subsequences=2), X)
    assert to_layout(X, "NTC", "NTC") is X
    packed = to_layout(X, "NTC", "NCT", contiguous=True)
    assert packed.flags.c_contiguous
    assert not np.shares_memory(packed, X)
    np.testing.assert_array_equal(packed, nct)


def test_frame_layouts_round_trip(rng):
    frames = rng.normal(size=(2, 3, 4, 5, 6))  # N T H W C
    chw = to_layout(frames, "NTHWC", "NTCHW")
    assert chw.shape == (2, 3, 6, 4, 5)
    assert np.shares_memory(chw, frames)
    np.testing.assert_array_equal(chw[1, 2, :, 3, 4], frames[1, 2, 3, 4, :])
    np.testing.assert_array_equal(to_layout(chw, "NTCHW", "NTHWC"), frames)


def test_to_layout_on_torch_tensors():
    torch = pytest.importorskip("torch")
    x = torch.arange(2 * 6 * 3, dtype=torch.float32).reshape(2, 6, 3)
    nct = to_layout(x, "NTC", "NCT")
    assert isinstance(nct, torch.Tensor)
    assert tuple(nct.shape) == (2, 3, 6)
    assert nct.data_ptr() == x.data_ptr()
    assert to_layout(x, "NTC", "NCT", contiguous=True).is_contiguous()
    nstc = to_layout(x, "NTC", "NSTC", subsequences=3)
    assert tuple(nstc.shape) == (2, 3, 2, 3)
    assert torch.equal(to_layout(nstc, "NSTC", "NTC"), x)
    frames = torch.zeros(1, 2, 8, 8, 3)
    assert tuple(to_layout(frames, "NTHWC", "NTCHW").shape) == (1, 2, 3, 8, 8)


def test_wrong_ndim_message_names_layout_shape_and_fix():
    expected = "expected a 3-D array (N, T, C) for layout 'NTC', got shape (32, 100)"
    with pytest.raises(ShapeError, match=re.escape(expected)) as info:
        to_layout(np.zeros((32, 100)), "NTC", "NCT")
    assert "add_feature_axis" in str(info.value)


def test_wrong_ndim_for_nstc_and_frames():
    with pytest.raises(ShapeError, match=re.escape("to_layout(X, 'NTC', 'NSTC', subsequences=S)")):
        to_layout(np.zeros((2, 6, 3)), "NSTC", "NTC")
    with pytest.raises(ShapeError, match=re.escape("5-D array (N, T, H, W, C) for layout 'NTHWC'")):
        to_layout(np.zeros((2, 6, 3, 3)), "NTHWC", "NTCHW")


def test_subsequences_must_divide_time():
    with pytest.raises(ShapeError, match=r"T=10 .*subsequences=3.*\[1, 2, 5, 10\]"):
        to_layout(np.zeros((2, 10, 1)), "NTC", "NSTC", subsequences=3)
    with pytest.raises(ShapeError, match=r"T=10"):
        to_layout(np.zeros((2, 1, 10)), "NCT", "NSTC", subsequences=4)


def test_subsequences_required_and_checked():
    with pytest.raises(InvalidParameterError, match="subsequences"):
        to_layout(np.zeros((2, 10, 1)), "NTC", "NSTC")
    with pytest.raises(InvalidParameterError, match="subsequences"):
        to_layout(np.zeros((2, 10, 1)), "NTC", "NSTC", subsequences=0)
    with pytest.raises(ShapeError, match="has 5 sub-windows"):
        to_layout(np.zeros((2, 5, 2, 1)), "NSTC", "NTC", subsequences=2)


def test_unknown_layout_and_family_mismatch():
    with pytest.raises(InvalidParameterError, match="`dst` must be one of"):
        to_layout(np.zeros((2, 3, 4)), "NTC", "NWC")
    with pytest.raises(InvalidParameterError, match="same family"):
        to_layout(np.zeros((2, 3, 4)), "NTC", "NTHWC")


# --------------------------------------------------------------------------- plan_cnn_lstm


def test_default_plan_numbers():
    plan = plan_cnn_lstm(48, 4)
    assert isinstance(plan, CNNLSTMPlan)
    assert plan.ok and plan.problem is None
    assert plan.check() is plan
    assert [r.name for r in plan.layers] == [
        "conv1d_1", "maxpool1d_1", "conv1d_2", "maxpool1d_2", "lstm_1", "last_step", "linear",
    ]
    assert plan.layers[0] == PlanRow("conv1d_1", (48, 4), (46, 32), 3 * 4 * 32 + 32)
    assert plan.layers[3].output_shape == (10, 32)  # ((48 - 2) // 2 - 2) // 2
    assert plan.layers[4].n_params == 4 * (32 * 64 + 64 * 64 + 2 * 64)
    assert plan.n_params == 28673
    assert plan.output_shape == (1,)
    assert plan.min_lookback == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.lookback = 3  # type: ignore[misc]


def test_short_lookback_gives_a_plan_with_a_problem():
    plan = plan_cnn_lstm(6, 4)
    assert not plan.ok
    expected = (
        "after block 2 the time axis has length 0: lookback 6 is too short for this stack; it needs lookback >= 10"
    )
    assert plan.problem.startswith(expected)
    with pytest.raises(ShapeError, match=re.escape(expected)):
        plan.check()
    assert "PROBLEM" in str(plan)


def test_plan_str_is_a_table():
    text = str(plan_cnn_lstm(48, 4, batch_norm=True))
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "input", "(T,", "C)", "output", "(T,", "C)", "params"]
    assert any(line.startswith("batchnorm_1") for line in lines)
    assert "total params: 28,801" in text
    assert "lookback: 48 (minimum 10)" in text


CONFIGS = [
    {},
    {"padding": "same"},
    {"padding": "same", "ceil_mode": True, "batch_norm": True},
    {"padding": 1, "kernel_size": 5},
    {"conv": (8, 16, 24), "kernel_size": (7, 5, 3), "pool": (2, 1, 3), "stride": (2, 1, 1), "dilation": (1, 2, 1)},
    {"conv": 16, "kernel_size": 4, "padding": "same", "pool": 3, "ceil_mode": True},
    {"lstm": 20, "lstm_layers": 2, "bidirectional": True, "n_outputs": 7},
]


def _reference_stack(torch, n_features, conv=(32, 32), kernel_size=3, pool=2, padding="valid", stride=1,
                     dilation=1, lstm=64, lstm_layers=1, bidirectional=False, n_outputs=1,
                     batch_norm=False, ceil_mode=False):
    """The stack the plan describes, built directly from torch.nn."""
    nn = torch.nn
    channels = (conv,) if isinstance(conv, int) else tuple(conv)
    n = len(channels)

    def per(v):
        return (v,) * n if isinstance(v, int) else tuple(v)

    layers, c_in = [], n_features
    for c, k, p, s, d in zip(channels, per(kernel_size), per(pool), per(stride), per(dilation), strict=True):
        layers.append(nn.Conv1d(c_in, c, k, stride=s, padding=padding, dilation=d))
        if batch_norm:
            layers.append(nn.BatchNorm1d(c))
        layers.append(nn.ReLU())
        if p > 1:
            layers.append(nn.MaxPool1d(p, ceil_mode=ceil_mode))
        c_in = c
    cnn = nn.Sequential(*layers)
    rnn = nn.LSTM(c_in, lstm, num_layers=lstm_layers, batch_first=True, bidirectional=bidirectional)
    head = nn.Linear(lstm * (2 if bidirectional else 1), n_outputs)
    return cnn, rnn, head


def _run_reference(torch, cnn, rnn, head, lookback, n_features):
    """Per-layer (T, C) output shapes of the conv/pool layers, then the head output shape."""
    shapes = []
    x = torch.randn(2, n_features, lookback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about 'same' with an even kernel
        for layer in cnn:
            x = layer(x)
            if not isinstance(layer, torch.nn.ReLU):
                shapes.append((x.shape[2], x.shape[1]))
    seq, _ = rnn(x.permute(0, 2, 1))
    out = head(seq[:, -1])
    return shapes, tuple(seq.shape[1:]), tuple(out.shape[1:])


@pytest.mark.parametrize("config", CONFIGS)
def test_plan_matches_torch_shapes_and_params(config):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    n_features = 3
    cnn, rnn, head = _reference_stack(torch, n_features, **config)
    real_params = sum(p.numel() for m in (cnn, rnn, head) for p in m.parameters())
    for lookback in (64, 77):
        plan = plan_cnn_lstm(lookback, n_features, **config)
        assert plan.ok
        assert plan.n_params == real_params
        conv_rows = [r for r in plan.layers if r.name.startswith(("conv", "batchnorm", "maxpool"))]
        shapes, seq_shape, out_shape = _run_reference(torch, cnn, rnn, head, lookback, n_features)
        assert [r.output_shape for r in conv_rows] == shapes
        lstm_rows = [r for r in plan.layers if r.name.startswith("lstm")]
        assert lstm_rows[-1].output_shape == seq_shape
        assert plan.output_shape == out_shape
    for name, row_sum in (("lstm", rnn), ("linear", head)):
        planned = sum(r.n_params for r in plan.layers if r.name.startswith(name))
        assert planned == sum(p.numel() for p in row_sum.parameters())


@pytest.mark.parametrize("config", CONFIGS)
def test_min_lookback_is_exact_against_torch(config):
    torch = pytest.importorskip("torch")
    n_features = 2
    cnn, rnn, head = _reference_stack(torch, n_features, **config)
    cnn.eval()
    minimum = plan_cnn_lstm(100, n_features, **config).min_lookback
    assert plan_cnn_lstm(minimum, n_features, **config).ok
    _run_reference(torch, cnn, rnn, head, minimum, n_features)  # runs
    if minimum > 1:
        plan = plan_cnn_lstm(minimum - 1, n_features, **config)
        assert not plan.ok
        assert f"it needs lookback >= {minimum}" in plan.problem
        with pytest.raises(RuntimeError):
            _run_reference(torch, cnn, rnn, head, minimum - 1, n_features)


def test_min_lookback_by_hand():
    # valid: L -> L-2 -> //2 -> -2 -> //2 >= 1  <=>  L >= 10
    assert plan_cnn_lstm(10, 4).ok and not plan_cnn_lstm(9, 4).ok
    # same padding, floor pooling: L // 2 // 2 >= 1  <=>  L >= 4
    assert plan_cnn_lstm(1, 1, padding="same").min_lookback == 4
    # same padding with ceil pooling never empties the time axis
    assert plan_cnn_lstm(1, 1, padding="same", ceil_mode=True).min_lookback == 1
    # dilation 50: ((L - 100) // 2 - 100) // 2 >= 1  <=>  L >= 304
    assert plan_cnn_lstm(1, 1, dilation=50).min_lookback == 304
    assert plan_cnn_lstm(304, 1, dilation=50).ok and not plan_cnn_lstm(303, 1, dilation=50).ok


def test_first_block_problem():
    plan = plan_cnn_lstm(2, 4)
    assert plan.problem.startswith("after block 1 the time axis has length 0: lookback 2")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback": 0}, "`lookback` must be a positive integer"),
        ({"n_features": 2.5}, "`n_features`"),
        ({"kernel_size": (3, 3, 3)}, "one per conv block"),
        ({"pool": 0}, "`pool` must be a positive integer"),
        ({"padding": "causal"}, "`padding` must be one of"),
        ({"padding": -1}, "`padding` must be an integer >= 0"),
        ({"padding": "same", "stride": 2}, "strided"),
        ({"conv": ()}, "non-empty"),
        ({"bidirectional": 1}, "`bidirectional` must be True or False"),
    ],
)
def test_plan_rejects_bad_arguments(kwargs, match):
    args = {"lookback": 20, "n_features": 3, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        plan_cnn_lstm(**args)
