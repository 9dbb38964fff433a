"""seqprep.doctor on PyTorch models: a corpus of broken models/batches and correct shape tables."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from seqprep.exceptions import InvalidParameterError, ShapeError

torch = pytest.importorskip("torch")
nn = torch.nn

from seqprep.diagnosis import Diagnosis, DoctorReport, LayerRow, doctor  # noqa: E402


def _n(module) -> int:
    return sum(p.numel() for p in module.parameters())


class CNNLSTM(nn.Module):
    """Conv1d -> ReLU -> MaxPool1d -> (permute) -> LSTM -> last step -> Linear."""

    def __init__(self, n_features=4, channels=64, hidden=32, permute=True, lstm_input=None, batch_first=True):
        super().__init__()
        self.conv1 = nn.Conv1d(n_features, channels, kernel_size=3)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool1d(2)
        self.lstm = nn.LSTM(lstm_input or channels, hidden, batch_first=batch_first)
        self.fc = nn.Linear(hidden, 1)
        self.permute = permute

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        if self.permute:
            x = x.permute(0, 2, 1)
        out, _ = self.lstm(x)
        return self.fc(out[:, -1, :])


class LSTMOnly(nn.Module):
    def __init__(self, n_features=4, hidden=8, batch_first=True, head="last"):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=batch_first)
        self.fc = nn.Linear(hidden, 1)
        self.head = head

    def forward(self, x):
        if self.head == "no_unpack":
            out = self.lstm(x)
            return self.fc(out[:, -1, :])
        out, _ = self.lstm(x)
        if self.head == "flatten":
            return self.fc(out.reshape(out.shape[0], -1))
        if self.head == "all":
            return self.fc(out)
        return self.fc(out[:, -1, :])


class SubwindowCNNLSTM(nn.Module):
    """(N, T, C) -> (N, S, T//S, C) -> CNN per sub-window -> LSTM over the S sub-windows."""

    def __init__(self, n_sub=4, n_features=4, channels=8, hidden=8):
        super().__init__()
        self.n_sub = n_sub
        self.conv = nn.Conv1d(n_features, channels, kernel_size=3)
        self.lstm = nn.LSTM(channels, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x):
        n, t, c = x.shape
        x = x.reshape(n, self.n_sub, -1, c)
        s, length = x.shape[1], x.shape[2]
        z = self.conv(x.reshape(n * s, length, c).permute(0, 2, 1))  # (N*S, C', L')
        z = z.mean(dim=2).reshape(n, s, -1)
        out, _ = self.lstm(z)
        return self.fc(out[:, -1, :])


class FrameCNNLSTM(nn.Module):
    """Image sequences (N, T, C, H, W): Conv2d on every frame, then an LSTM over time."""

    def __init__(self, fold=True):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, kernel_size=3)
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fold = fold

    def forward(self, x):
        n, t = x.shape[:2]
        z = self.conv(x.reshape(n * t, *x.shape[2:]) if self.fold else x)
        z = z.mean(dim=(2, 3)).reshape(n, t, -1)
        out, _ = self.lstm(z)
        return out[:, -1, :]


def _stack(*layers):
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------------------
# the corpus: (id, model factory, batch shape, code, layer, words that must appear in the fix)

CORPUS = [
    ("channels_last_conv", lambda: CNNLSTM(), (32, 30, 4), "CHANNELS_LAST_TO_CONV1D", "conv1",
     ["layout='NCT'", "x.permute(0, 2, 1)"]),
    ("conv_to_lstm_no_permute", lambda: CNNLSTM(permute=False), (32, 4, 30), "CONV_OUTPUT_TO_RNN", "lstm",
     ["x.permute(0, 2, 1)", "batch_first=True", "out_channels (=64)"]),
    ("conv_in_channels", lambda: CNNLSTM(n_features=4), (8, 5, 30), "FEATURE_MISMATCH", "conv1",
     ["in_channels=5"]),
    ("conv_channels_last_wrong_count", lambda: CNNLSTM(n_features=4), (8, 30, 6), "FEATURE_MISMATCH", "conv1",
     ["in_channels=6", "permute(0, 2, 1)"]),
    ("lstm_input_size", lambda: LSTMOnly(n_features=4), (8, 30, 5), "FEATURE_MISMATCH", "lstm",
     ["input_size=5"]),
    ("lstm_input_vs_conv_out", lambda: CNNLSTM(lstm_input=32), (8, 4, 30), "FEATURE_MISMATCH", "lstm",
     ["input_size=64", "out_channels"]),
    ("ecg_2d_conv", lambda: _stack(nn.Conv1d(1, 8, 5), nn.ReLU()), (32, 140), "MISSING_FEATURE_AXIS", "0",
     ["X[..., None]", "add_feature_axis", "X[:, None, :]"]),
    ("ecg_2d_lstm", lambda: LSTMOnly(n_features=1), (32, 140), "MISSING_FEATURE_AXIS", "lstm",
     ["X[..., None]", "seqprep.shapes.add_feature_axis(X)"]),
    ("lookback_too_short_pool", lambda: _stack(nn.Conv1d(4, 8, 5), nn.MaxPool1d(2), nn.Conv1d(8, 8, 5),
                                               nn.MaxPool1d(2)), (2, 4, 15), "LOOKBACK_TOO_SHORT", "3",
     ["lookback >= 16", "lookback=16"]),
    ("lookback_too_short_kernel", lambda: _stack(nn.Conv1d(4, 8, 7), nn.ReLU()), (2, 4, 5), "LOOKBACK_TOO_SHORT",
     "0", ["lookback >= 7"]),
    ("lookback_dilated_strided", lambda: _stack(nn.Conv1d(4, 8, 3, dilation=2), nn.Conv1d(8, 8, 3, stride=2),
                                                nn.AvgPool1d(3)), (2, 4, 8), "LOOKBACK_TOO_SHORT", "2",
     ["lookback >= 11"]),
    ("subwindow_not_divisible", lambda: SubwindowCNNLSTM(n_sub=4), (2, 30, 4), "SUBWINDOW_NOT_DIVISIBLE", None,
     ["1, 2, 3, 5, 6, 10, 15, 30", "multiple of 4", "subsequences"]),
    ("subwindows_into_lstm", lambda: LSTMOnly(), (2, 3, 10, 4), "SUBWINDOW_NOT_FOLDED", "lstm",
     ["reshape(N * 3, 10, 4)", "TimeDistributed"]),
    ("subwindows_into_conv", lambda: CNNLSTM(), (2, 3, 10, 4), "SUBWINDOW_NOT_FOLDED", "conv1",
     ["reshape(N * 3, 10, 4).permute(0, 2, 1)"]),
    ("frames_channels_last", lambda: FrameCNNLSTM(), (2, 5, 16, 16, 3), "FRAMES_CHANNEL_ORDER", "conv",
     ["'NTCHW'", "x.permute(0, 1, 4, 2, 3)"]),
    ("frames_not_folded", lambda: FrameCNNLSTM(fold=False), (2, 5, 3, 16, 16), "SUBWINDOW_NOT_FOLDED", "conv",
     ["reshape(N * T, C, H, W)"]),
    ("tuple_into_linear", lambda: _stack(nn.LSTM(4, 8, batch_first=True), nn.Linear(8, 1)), (2, 30, 4),
     "RNN_TUPLE_OUTPUT", "1", ["out[:, -1, :]", "nn.Sequential cannot unpack"]),
    ("tuple_indexed", lambda: LSTMOnly(head="no_unpack"), (2, 30, 4), "RNN_TUPLE_OUTPUT", "lstm",
     ["out, (h_n, c_n) = self.lstm(x)"]),
    ("flattened_sequence_head", lambda: LSTMOnly(head="flatten"), (2, 30, 4), "SEQUENCE_TO_HEAD", "fc",
     ["out[:, -1, :]", "in_features=240"]),
    ("flatten_head_size", lambda: _stack(nn.Conv1d(4, 8, 3), nn.Flatten(), nn.Linear(100, 1)), (2, 4, 30),
     "FEATURE_MISMATCH", "2", ["in_features=224"]),
    ("nct_into_lstm", lambda: LSTMOnly(n_features=4), (8, 4, 30), "CHANNELS_FIRST_TO_RNN", "lstm",
     ["layout='NTC'", "x.permute(0, 2, 1)"]),
]


@pytest.mark.parametrize(("model_fn", "shape", "code", "layer", "words"),
                         [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_corpus_diagnosis(model_fn, shape, code, layer, words):
    torch.manual_seed(0)
    report = doctor(model_fn(), shape)
    assert not report.ok
    assert report.error
    assert report.diagnosis is not None, report.error
    assert report.diagnosis.code == code, str(report)
    assert report.diagnosis.layer == layer
    for word in words:
        assert word in report.diagnosis.fix or word in report.diagnosis.message, (word, str(report))
    text = str(report)
    assert f"Diagnosis [{code}]" in text and "Fix: " in text


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 12
    assert len({c[3] for c in CORPUS}) >= 9


def test_channels_last_message_is_exact():
    report = doctor(CNNLSTM(), (32, 30, 4))
    assert report.diagnosis.message == (
        "Conv1d 'conv1' expects (N, C_in=4, L) but got (32, 30, 4): your batch is channels-last (N, T, C)."
    )
    assert report.diagnosis.fix == (
        "Build windows with seqprep.windows(..., layout='NCT') or call x.permute(0, 2, 1) before the conv."
    )
    # the table holds the failing layer with no output shape
    assert report.rows == [LayerRow("conv1", "Conv1d", (32, 30, 4), None, 4 * 64 * 3 + 64)]


def test_lookback_minimum_and_trace():
    model = _stack(nn.Conv1d(4, 8, 5), nn.MaxPool1d(2), nn.Conv1d(8, 8, 5), nn.MaxPool1d(2))
    report = doctor(model, (2, 4, 15))
    trace = "15 -> 11 (Conv1d '0') -> 5 (MaxPool1d '1') -> 1 (Conv1d '2') -> 0 (MaxPool1d '3')"
    assert trace in report.diagnosis.message
    assert "minimum lookback for this model is 16" in report.diagnosis.message
    assert doctor(model, (2, 4, 16)).ok


@pytest.mark.parametrize(
    "layers",
    [
        [("conv", 3, 1, 0, 1), ("pool", 2)],
        [("conv", 5, 2, 1, 1), ("conv", 3, 1, 0, 2), ("pool", 3)],
        [("conv", 7, 1, 3, 1), ("pool", 2), ("conv", 4, 3, 0, 1), ("pool", 2), ("conv", 2, 1, 0, 3)],
        [("conv", 1, 1, 0, 1), ("pool", 4)],
    ],
)
def test_min_lookback_matches_pytorch(layers):
    modules = []
    c = 2
    for spec in layers:
        if spec[0] == "conv":
            _, k, s, p, d = spec
            modules.append(nn.Conv1d(c, 3, k, stride=s, padding=p, dilation=d))
            c = 3
        else:
            modules.append(nn.MaxPool1d(spec[1]))
    model = _stack(*modules)
    from seqprep.diagnosis._rules import _min_lookback, _torch_ops

    minimum = _min_lookback(_torch_ops(model))
    assert doctor(model, (1, 2, minimum)).ok
    if minimum > 1:
        report = doctor(model, (1, 2, minimum - 1))
        assert report.diagnosis.code == "LOOKBACK_TOO_SHORT"
        assert f"is {minimum}." in report.diagnosis.message


def test_subwindow_valid_reshape_passes():
    report = doctor(SubwindowCNNLSTM(n_sub=5), (2, 30, 4))
    assert report.ok, str(report)


# ------------------------------------------------------------------------------------------
# warnings: mistakes that do not crash


def test_batch_first_false_warns():
    model = LSTMOnly(batch_first=False)
    report = doctor(model, (32, 30, 4))
    assert report.ok  # PyTorch runs it: (32, 30, 4) is read as T=32, N=30
    assert [w.code for w in report.warnings] == ["RNN_NOT_BATCH_FIRST"]
    assert report.warnings[0].layer == "lstm"
    assert "batch_first=True" in report.warnings[0].fix
    assert "Warning [RNN_NOT_BATCH_FIRST]" in str(report)


def test_batch_first_false_used_correctly_does_not_warn():
    class TimeMajor(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 8)

        def forward(self, x):
            out, _ = self.lstm(x.permute(1, 0, 2))
            return out[-1]

    report = doctor(TimeMajor(), (32, 30, 4))
    assert report.ok and report.warnings == []
    assert report.output_shape == (32, 8)


def test_unbatched_2d_conv_warns():
    # Conv1d(in_channels=2) happily reads a (2, 140) batch as ONE sample with 2 channels
    report = doctor(_stack(nn.Conv1d(2, 8, 3)), np.zeros((2, 140), dtype=np.float64))
    assert report.ok
    assert report.rows[0].output_shape == (8, 138)
    assert [w.code for w in report.warnings] == ["MISSING_FEATURE_AXIS"]
    assert "X[..., None]" in report.warnings[0].fix


def test_sequence_head_warns():
    report = doctor(LSTMOnly(head="all"), (2, 30, 4))
    assert report.ok
    assert report.output_shape == (2, 30, 1)
    assert [w.code for w in report.warnings] == ["SEQUENCE_TO_HEAD"]
    assert "out[:, -1, :]" in report.warnings[0].fix


# ------------------------------------------------------------------------------------------
# working models: shape table against hand-computed values


def test_working_cnn_lstm_table():
    model = CNNLSTM(n_features=4, channels=64, hidden=32)
    report = doctor(model, (32, 4, 30))
    assert report.ok and report.diagnosis is None and report.error is None and report.warnings == []
    names = [r.name for r in report.rows]
    assert names == ["conv1", "relu", "pool", "lstm", "fc"]
    shapes = [(r.input_shape, r.output_shape) for r in report.rows]
    assert shapes[0] == ((32, 4, 30), (32, 64, 28))  # L = 30 - 3 + 1
    assert shapes[1] == ((32, 64, 28), (32, 64, 28))
    assert shapes[2] == ((32, 64, 28), (32, 64, 14))  # floor(28 / 2)
    assert shapes[3] == ((32, 14, 64), ((32, 14, 32), ((1, 32, 32), (1, 32, 32))))
    assert shapes[4] == ((32, 32), (32, 1))
    params = {r.name: r.n_params for r in report.rows}
    assert params == {
        "conv1": _n(model.conv1), "relu": 0, "pool": 0, "lstm": _n(model.lstm), "fc": _n(model.fc),
    }
    assert params["conv1"] == 4 * 64 * 3 + 64
    assert params["lstm"] == 4 * (64 * 32 + 32 * 32 + 2 * 32)
    assert report.n_params == _n(model)
    assert report.output_shape == (32, 1)
    text = str(report)
    assert "OK: forward pass (32, 4, 30) -> (32, 1)" in text
    assert f"Total params: {_n(model):,}" in text


def test_working_model_from_array_and_tensor_uses_batch_size():
    model = LSTMOnly(n_features=3)
    X = np.random.default_rng(0).standard_normal((50, 12, 3))
    report = doctor(model, X, batch_size=5)
    assert report.ok and report.input_shape == (5, 12, 3)
    assert report.rows[0] == LayerRow("lstm", "LSTM", (5, 12, 3), ((5, 12, 8), ((1, 5, 8), (1, 5, 8))), _n(model.lstm))
    report = doctor(model, torch.zeros(7, 12, 3, dtype=torch.float64))
    assert report.ok and report.input_shape == (2, 12, 3)


class _FakeSpec:
    layout = "NTC"


class _FakeWindows:
    """Duck-typed stand-in for seqprep.Windows: len, slicing to (X, y), spec.layout."""

    spec = _FakeSpec()

    def __init__(self, n=10, t=30, c=4):
        self.X = np.zeros((n, t, c), dtype=np.float32)
        self.y = np.zeros((n, 1), dtype=np.float32)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, item):
        return self.X[item], self.y[item]


def test_windows_object_and_layout_in_message():
    report = doctor(CNNLSTM(), windows=_FakeWindows())
    assert report.input_shape == (2, 30, 4)
    assert report.diagnosis.code == "CHANNELS_LAST_TO_CONV1D"
    assert "layout='NTC'" in report.diagnosis.message
    assert doctor(LSTMOnly(), windows=_FakeWindows(), batch_size=3).ok


def test_training_mode_restored_and_hooks_removed():
    model = CNNLSTM()
    model.train()
    doctor(model, (2, 30, 4))
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_raise_on_error():
    with pytest.raises(ShapeError, match=r"channels-last.*Fix: Build windows") as info:
        doctor(CNNLSTM(), (2, 30, 4), raise_on_error=True)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert isinstance(doctor(CNNLSTM(), (2, 4, 30), raise_on_error=True), DoctorReport)


def test_unrecognised_error_keeps_original_text():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            raise RuntimeError("something unrelated")

    report = doctor(Broken(), (2, 4))
    assert report.error == "something unrelated"
    assert report.diagnosis == Diagnosis(
        "UNRECOGNISED", None,
        "the forward pass failed outside any layer (before the first layer): something unrelated The next layer, "
        "Linear 'fc', expects (N, 4).",
        "Check the tensor operations in forward() between these layers against the shapes in the table above.",
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": object(), "batch_or_shape": (2, 3)}, InvalidParameterError, "`model` must be a torch.nn.Module"),
        ({"batch_or_shape": (2, 0, 3)}, InvalidParameterError, "positive sizes"),
        ({"batch_or_shape": "2,3"}, InvalidParameterError, "a shape tuple"),
        ({"batch_or_shape": None}, InvalidParameterError, "Received: batch_or_shape=None"),
        ({"batch_or_shape": (2, 3), "batch_size": 0}, InvalidParameterError, "batch_size"),
        ({"batch_or_shape": (2, 3), "raise_on_error": 1}, InvalidParameterError, "raise_on_error"),
        ({"batch_or_shape": np.zeros((0, 3))}, ShapeError, "no sample"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    kwargs.setdefault("model", nn.Linear(3, 1))
    with pytest.raises(error, match=match):
        doctor(**kwargs)


def test_import_does_not_load_torch_or_keras():
    code = "import sys, seqprep, seqprep.diagnosis; print('torch' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


# ------------------------------------------------------------------------------------------
# CLI


FACTORIES = textwrap.dedent(
    """
    import torch.nn as nn

    def build():
        return nn.Sequential(nn.Conv1d(4, 8, kernel_size=3), nn.ReLU())

    def broken():
        raise ValueError("no such layer")

    NOT_A_FUNCTION = 3
    """
)


@pytest.fixture
def factory_file(tmp_path):
    path = tmp_path / "mymodels.py"
    path.write_text(FACTORIES)
    return path


def test_cli_diagnoses_and_exits_1(factory_file):
    from click.testing import CliRunner

    from seqprep.cli import cli

    result = CliRunner().invoke(cli, ["doctor", f"{factory_file}:build", "--shape", "32,30,4"])
    assert result.exit_code == 1, result.output
    assert "Diagnosis [CHANNELS_LAST_TO_CONV1D]" in result.output
    assert "x.permute(0, 2, 1)" in result.output

    result = CliRunner().invoke(cli, ["doctor", f"{factory_file}:build", "--shape", "32,4,30"])
    assert result.exit_code == 0, result.output
    assert "OK: forward pass (32, 4, 30) -> (32, 8, 28)" in result.output


def test_cli_data_file_and_module_path(factory_file, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from seqprep.cli import cli

    np.save(tmp_path / "X.npy", np.zeros((10, 4, 30)))
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(cli, ["doctor", "mymodels:build", "--data", str(tmp_path / "X.npy")])
    assert result.exit_code == 0, result.output
    assert "batch (2, 4, 30)" in result.output


def test_cli_help_warns_that_it_executes_code():
    from click.testing import CliRunner

    from seqprep.cli import cli

    result = CliRunner().invoke(cli, ["doctor", "--help"])
    assert result.exit_code == 0
    assert "executed" in result.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["{f}:build", "--shape", "32,x,4"], "--shape"),
        (["{f}:build"], "--shape"),
        (["{f}", "--shape", "2,3"], "MODULE:FACTORY"),
        (["{f}:missing", "--shape", "2,3"], "Callables there: broken, build"),
        (["{f}:NOT_A_FUNCTION", "--shape", "2,3"], "a function that returns a model"),
        (["{f}:broken", "--shape", "2,3"], r"raised ValueError: no such layer"),
        (["no_such_module_xyz:build", "--shape", "2,3"], "importable module"),
    ],
)
def test_cli_bad_input_exits_2(factory_file, args, match, capsys):
    from seqprep.cli import main

    argv = ["doctor", *[a.format(f=factory_file) for a in args]]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    import re

    assert re.search(match, err), err


def test_cli_bad_input_is_a_seqprep_error(factory_file):
    from click.testing import CliRunner

    from seqprep.cli import cli

    result = CliRunner().invoke(cli, ["doctor", f"{factory_file}:build", "--shape", "0,3"])
    assert result.exit_code == 2 and result.output.startswith("error: ") and "Traceback" not in result.output


def test_real_seqprep_windows():
    windowing = pytest.importorskip("seqprep.windowing")
    data = np.random.default_rng(0).standard_normal((200, 4)).astype(np.float32)
    ntc = windowing.windows(data, lookback=30, target=0)
    report = doctor(_stack(nn.Conv1d(4, 8, 3)), windows=ntc)
    assert report.diagnosis.code == "CHANNELS_LAST_TO_CONV1D"
    assert "layout='NTC'" in report.diagnosis.message
    nct = windowing.windows(data, lookback=30, target=0, layout="NCT")
    assert doctor(_stack(nn.Conv1d(4, 8, 3)), windows=nct).rows[0].output_shape == (2, 8, 28)


class _PermuteFirst(nn.Module):
    """forward() permutes (N, T, C) to (N, C, T) before a Conv1d(1, ...), as UCR tutorials do."""

    def __init__(self, lose_axis=False):
        super().__init__()
        self.conv = nn.Conv1d(1, 8, 3)
        self.lstm = nn.LSTM(8, 4, batch_first=True)
        self.fc = nn.Linear(4, 1)
        self.lose_axis = lose_axis

    def forward(self, x):
        z = self.conv(x.permute(0, 2, 1))
        z = z.reshape(z.shape[0], -1) if self.lose_axis else z.permute(0, 2, 1)
        out, _ = self.lstm(z)
        return self.fc(out[:, -1])


def test_2d_batch_reaching_permute_before_conv1d_of_one_channel():
    report = doctor(_PermuteFirst(), (2, 30))
    assert report.diagnosis.code == "MISSING_FEATURE_AXIS"
    assert "one feature per step: add a feature axis (x[..., None], seqprep.add_feature_axis)" in report.diagnosis.fix
    assert "(2, 30, 1)" in report.diagnosis.fix
    assert doctor(_PermuteFirst(), (2, 30, 1)).ok


def test_time_axis_lost_between_layers_is_not_a_missing_feature_axis():
    report = doctor(_PermuteFirst(lose_axis=True), (2, 30, 1))
    assert report.diagnosis.code == "RANK_MISMATCH", str(report)
    assert "lost between the two layers" in report.diagnosis.message
    assert "'conv' returned (2, 8, 28)" in report.diagnosis.message
