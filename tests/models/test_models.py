from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from seqprep._manifest import write_checksums
from seqprep.exceptions import ArtifactError, InvalidParameterError, ShapeError
from seqprep.shapes import to_layout

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from seqprep.models import CNNLSTM, Ensemble, TimeDistributedCNNLSTM, load_model, save_model  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# --------------------------------------------------------------------------- import behaviour


def test_importing_seqprep_shapes_and_models_does_not_import_torch():
    code = "import sys, seqprep, seqprep.shapes, seqprep.models; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_models_without_torch_raise_a_clear_import_error(monkeypatch):
    import seqprep.models as models

    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "seqprep.models.cnn_lstm", raising=False)
    monkeypatch.delattr(models, "CNNLSTM", raising=False)  # the cached first access
    with pytest.raises(ImportError, match=re.escape("seqprep.models needs PyTorch: pip install 'seqprep[torch]'")):
        models.CNNLSTM  # noqa: B018
    with pytest.raises(AttributeError):
        models.NotAModel  # noqa: B018


# --------------------------------------------------------------------------- CNNLSTM


def test_regression_single_target():
    model = CNNLSTM(4, lookback=48)
    out = model(torch.randn(8, 48, 4))
    assert out.shape == (8, 1)
    assert out.dtype == torch.float32


def test_regression_multi_target_and_multi_horizon():
    assert CNNLSTM(4, n_outputs=3)(torch.randn(5, 30, 4)).shape == (5, 3)
    multi = CNNLSTM(4, n_outputs=2, horizons=12)
    assert multi(torch.randn(5, 30, 4)).shape == (5, 12, 2)
    assert CNNLSTM(4, horizons=1)(torch.randn(5, 30, 4)).shape == (5, 1, 1)


def test_classification_logits():
    model = CNNLSTM(1, n_outputs=5, task="classification", bidirectional=True, lstm_layers=2)
    logits = model(torch.randn(6, 140, 1))
    assert logits.shape == (6, 5)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3, 4, 0]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("lookback", [1, 2, 3, 5])
def test_same_padding_accepts_very_short_windows(lookback):
    model = CNNLSTM(2, kernel_size=4)  # even kernel: asymmetric 'same' padding, no torch warning
    assert model.min_lookback == 1
    assert model(torch.randn(3, lookback, 2)).shape == (3, 1)


def test_parameter_count_is_modest_and_matches_the_plan():
    model = CNNLSTM(4)
    assert 20_000 <= model.n_params <= 60_000
    assert model.n_params == sum(p.numel() for p in model.parameters())
    configs = [
        ({}, (1,)),
        ({"padding": "valid", "bidirectional": True, "lstm_layers": 2, "horizons": 3, "n_outputs": 2}, (3, 2)),
        ({"conv_channels": (8, 16, 32), "kernel_size": (5, 3, 3), "pool": (2, 2, 1), "batch_norm": False}, (1,)),
    ]
    for kwargs, out_shape in configs:
        m = CNNLSTM(4, **kwargs)
        plan = m.plan(64)
        assert plan.n_params == m.n_params
        assert m(torch.randn(2, 64, 4)).shape[1:] == out_shape


def test_plan_shapes_match_the_model():
    model = CNNLSTM(3, padding="valid", conv_channels=(8, 16), kernel_size=(5, 3), batch_norm=False, dropout=0.0)
    plan = model.plan(40)
    x = torch.randn(2, 3, 40)
    seen = []
    for block in model.blocks:
        x = block.conv(x)
        seen.append((x.shape[2], x.shape[1]))
        x = block.pool(block.act(x))
        seen.append((x.shape[2], x.shape[1]))
    assert seen == [r.output_shape for r in plan.layers if r.name.startswith(("conv", "maxpool"))]


def test_too_short_lookback_is_refused_up_front():
    with pytest.raises(ShapeError, match=r"lookback 6 is too short.*it needs lookback >= 10"):
        CNNLSTM(4, lookback=6, padding="valid")
    CNNLSTM(4, lookback=10, padding="valid")  # the minimum works


def test_too_short_windows_are_refused_at_call_time():
    model = CNNLSTM(4, padding="valid")
    assert model.min_lookback == 10
    assert model(torch.randn(2, 10, 4)).shape == (2, 1)
    with pytest.raises(ShapeError, match=r"lookback 9 is too short.*>= 10"):
        model(torch.randn(2, 9, 4))


def test_channels_first_batch_gets_the_layout_fix():
    model = CNNLSTM(4)
    with pytest.raises(ShapeError, match=re.escape("x.permute(0, 2, 1)")) as info:
        model(torch.randn(8, 4, 48))
    text = str(info.value)
    assert "(N, T, C)" in text and "(8, 4, 48)" in text
    assert "seqprep.windows(..., layout='NTC')" in text


def test_wrong_feature_count_and_ndim():
    model = CNNLSTM(4)
    with pytest.raises(ShapeError, match="last axis has 3 features.*n_features=3"):
        model(torch.randn(8, 48, 3))
    with pytest.raises(ShapeError, match=re.escape("expected x as a 3-D batch (N, T, C)")) as info:
        model(torch.randn(8, 48))
    assert "add_feature_axis" in str(info.value)
    with pytest.raises(ShapeError, match="TimeDistributedCNNLSTM"):
        model(torch.randn(8, 4, 12, 4))


def test_numpy_and_float64_inputs_are_refused_with_the_fix():
    model = CNNLSTM(1)
    with pytest.raises(InvalidParameterError, match=re.escape("torch.as_tensor(X, dtype=torch.float32)")):
        model(np.zeros((2, 10, 1), dtype=np.float32))
    with pytest.raises(InvalidParameterError, match=re.escape("x.float()")):
        model(torch.zeros(2, 10, 1, dtype=torch.float64))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_features": 0}, "`n_features` must be a positive integer"),
        ({"task": "forecast"}, "`task` must be one of"),
        ({"task": "classification", "horizons": 3}, "Multi-horizon output is for regression"),
        ({"dropout": 1.0}, "`dropout`"),
        ({"kernel_size": (3, 3, 3)}, "one per conv block"),
        ({"conv_channels": ()}, "non-empty"),
        ({"padding": "causal"}, "`padding` must be one of"),
        ({"lookback": 0}, "`lookback` must be a positive integer"),
        ({"horizons": 0}, "`horizons` must be a positive integer"),
        ({"head": "max"}, "`head` must be one of"),
        ({"skip_index": 4}, "skip_index < n_features = 4"),
        ({"skip_index": -1}, "`skip_index`"),
        ({"task": "classification", "skip_index": 0}, "regression outputs only"),
        ({"task": "classification", "linear_path": True, "lookback": 8}, "regression outputs only"),
        ({"linear_path": True}, "`lookback` must be an integer when linear_path=True"),
        ({"pool": "auto"}, "`lookback` must be an integer when pool='auto'"),
        ({"pool": "big", "lookback": 8}, "or 'auto'"),
        ({"multiscale": 0}, "`multiscale` must be"),
        ({"multiscale": 3, "padding": "valid"}, "'same' when multiscale > 1"),
        ({"multiscale": 3, "conv_channels": (8, 2)}, "at least multiscale = 3 channels"),
        ({"conv_summary": "yes"}, "`conv_summary` must be"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    args = {"n_features": 4, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        CNNLSTM(**args)


def test_config_is_json_safe_and_rebuilds_the_model():
    model = CNNLSTM(4, n_outputs=2, conv_channels=[8, 16], kernel_size=(5, 3), horizons=6, lookback=24)
    cfg = json.loads(json.dumps(model.config))
    assert cfg == model.config
    assert cfg["conv_channels"] == [8, 16] and cfg["kernel_size"] == [5, 3] and cfg["pool"] == 2
    clone = CNNLSTM.from_config(cfg)
    assert clone.config == model.config
    assert clone.n_params == model.n_params
    with pytest.raises(InvalidParameterError, match="Unknown keys: 'width'"):
        CNNLSTM.from_config({**cfg, "width": 3})
    with pytest.raises(InvalidParameterError, match="'n_features'"):
        CNNLSTM.from_config({"n_outputs": 1})


def test_new_options_round_trip_through_config():
    for kwargs in (
        {"head": "mean", "pool": "auto", "lookback": 150, "conv_channels": (8, 8, 8)},
        {"head": "last+mean", "bidirectional": True, "lookback": 30},
        {"skip_index": 1, "linear_path": True, "lookback": 14, "horizons": 3, "n_outputs": 2},
        {"multiscale": 3, "kernel_size": (9, 5), "conv_channels": (16, 8), "lookback": 40},
        {"conv_summary": True, "head": "mean", "conv_channels": (8, 6), "lookback": 20},
    ):
        model = CNNLSTM(4, **kwargs)
        cfg = json.loads(json.dumps(model.config))
        assert cfg == model.config
        assert all(cfg[k] == (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items())
        clone = CNNLSTM.from_config(cfg)
        assert clone.config == model.config and clone.n_params == model.n_params
        assert clone.pools == model.pools


def test_auto_pool_keeps_at_least_16_steps_for_the_lstm():
    pools = {t: CNNLSTM(1, lookback=t, pool="auto", conv_channels=(8, 8, 8)).pools for t in (14, 24, 100, 150, 251)}
    assert pools == {14: (1, 1, 1), 24: (1, 1, 1), 100: (4, 1, 1), 150: (4, 2, 1), 251: (4, 4, 1)}
    model = CNNLSTM(1, lookback=251, pool="auto", conv_channels=(8, 8, 8))
    assert model(torch.randn(2, 251, 1)).shape == (2, 1)


@pytest.mark.parametrize("head", ["last", "mean", "last+mean"])
def test_heads_give_logits_of_the_right_shape(head):
    model = CNNLSTM(3, 5, task="classification", head=head, bidirectional=True, lstm_hidden=8)
    assert model(torch.randn(4, 40, 3)).shape == (4, 5)


def test_mean_head_averages_the_lstm_outputs():
    model = CNNLSTM(2, head="mean", conv_channels=4, lstm_hidden=3, dropout=0.0).eval()
    x = torch.randn(5, 12, 2)
    seq = model.blocks(x.permute(0, 2, 1)).permute(0, 2, 1)
    outputs, _ = model.lstm(seq)
    torch.testing.assert_close(model(x), model.head(outputs.mean(dim=1)))


def test_conv_summary_feeds_the_conv_features_average_to_the_head(tmp_path):
    model = CNNLSTM(2, 3, task="classification", conv_channels=(8, 6), lstm_hidden=5, bidirectional=True,
                    head="mean", conv_summary=True, dropout=0.0).eval()
    assert model.head.in_features == 2 * 5 + 6  # BiLSTM mean + the last block's 6 channels
    x = torch.randn(4, 30, 2)
    h = model.blocks(x.permute(0, 2, 1))
    outputs, _ = model.lstm(h.permute(0, 2, 1))
    torch.testing.assert_close(model(x), model.head(torch.cat((outputs.mean(dim=1), h.mean(dim=2)), dim=1)))
    assert torch.equal(load_model(save_model(model, tmp_path))(x), model(x))
    assert CNNLSTM(2).config["conv_summary"] is False


def test_multiscale_blocks_run_parallel_kernels_and_keep_the_length():
    model = CNNLSTM(2, 3, task="classification", conv_channels=(16, 8), kernel_size=(9, 4), multiscale=3, pool=1)
    first, second = (block.conv.branches for block in model.blocks)
    assert [c.kernel_size[0] for c in first] == [9, 19, 39] and [c.kernel_size[0] for c in second] == [4, 9, 19]
    assert [c.out_channels for c in first] == [6, 5, 5] and [c.out_channels for c in second] == [4, 2, 2]
    x = torch.randn(5, 23, 2)
    assert model.blocks(x.permute(0, 2, 1)).shape == (5, 8, 23)
    assert model(x).shape == (5, 3)
    assert model.config["multiscale"] == 3 and CNNLSTM(2).config["multiscale"] == 1


def test_save_load_round_trip_of_a_multiscale_model(tmp_path):
    model = CNNLSTM(2, lookback=30, multiscale=2, kernel_size=(5, 3), skip_index=1).eval()
    x = torch.randn(3, 30, 2)
    assert torch.equal(load_model(save_model(model, tmp_path))(x), model(x))


def test_skip_index_adds_the_last_value_of_the_feature():
    model = CNNLSTM(3, n_outputs=2, horizons=4, lookback=10, skip_index=2, dropout=0.0).eval()
    plain = CNNLSTM.from_config({**model.config, "skip_index": None}).eval()
    plain.load_state_dict(model.state_dict())
    x = torch.randn(6, 10, 3)
    torch.testing.assert_close(model(x), plain(x) + x[:, -1, 2].reshape(-1, 1, 1))


def test_linear_path_starts_at_zero_and_needs_the_lookback():
    model = CNNLSTM(3, lookback=10, linear_path=True, dropout=0.0).eval()
    plain = CNNLSTM.from_config({**model.config, "linear_path": False}).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("linear.")})
    x = torch.randn(6, 10, 3)
    torch.testing.assert_close(model(x), plain(x))
    assert model.n_params == plain.n_params + 31
    with pytest.raises(ShapeError, match="linear path over lookback = 10 steps, got windows of 12"):
        model(torch.randn(2, 12, 3))


def test_skip_connection_makes_an_untrained_model_close_to_persistence():
    x = torch.randn(64, 14, 2)
    model = CNNLSTM(2, lookback=14, skip_index=0, linear_path=True).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    torch.testing.assert_close(model(x)[:, 0], x[:, -1, 0])


def test_save_load_round_trip_with_the_new_options(tmp_path):
    model = CNNLSTM(3, lookback=12, skip_index=0, linear_path=True, head="last+mean").eval()
    with torch.no_grad():
        model.linear.weight.normal_()
    x = torch.randn(2, 12, 3)
    assert torch.equal(load_model(save_model(model, tmp_path))(x), model(x))


# --------------------------------------------------------------------------- TimeDistributedCNNLSTM


def test_time_distributed_sub_windows():
    X = torch.randn(8, 48, 4)
    x = to_layout(X, "NTC", "NSTC", subsequences=4)  # (8, 4, 12, 4)
    model = TimeDistributedCNNLSTM(4, n_outputs=2, horizons=3)
    assert model(x).shape == (8, 3, 2)
    assert 20_000 <= model.n_params <= 60_000


def test_time_distributed_shares_weights_across_sub_windows():
    model = TimeDistributedCNNLSTM(2, conv_channels=8, lstm_hidden=8).eval()
    x = torch.randn(1, 3, 10, 2)
    enc = model.encoder(x[0].permute(0, 2, 1)).mean(dim=2)  # encode each sub-window alone
    seq = enc.unsqueeze(0)
    expected = model.head(model.lstm(seq)[1][0][-1])
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("layout", ["NTHWC", "NTCHW"])
def test_time_distributed_frames(layout):
    model = TimeDistributedCNNLSTM(
        3, n_outputs=4, task="classification", frame_layout=layout, conv_channels=(8, 16), lstm_hidden=16
    )
    shape = (2, 5, 12, 10, 3) if layout == "NTHWC" else (2, 5, 3, 12, 10)
    assert model(torch.randn(*shape)).shape == (2, 4)


def test_both_frame_layouts_compute_the_same_function():
    channels_last = TimeDistributedCNNLSTM(3, frame_layout="NTHWC", conv_channels=(4, 8), lstm_hidden=8).eval()
    channels_first = TimeDistributedCNNLSTM(3, frame_layout="NTCHW", conv_channels=(4, 8), lstm_hidden=8).eval()
    channels_first.load_state_dict(channels_last.state_dict())
    frames = torch.randn(2, 4, 9, 7, 3)
    torch.testing.assert_close(channels_last(frames), channels_first(to_layout(frames, "NTHWC", "NTCHW")))


def test_channels_first_frames_given_as_channels_last():
    model = TimeDistributedCNNLSTM(3, frame_layout="NTHWC")
    expected = (
        "the last axis of x has 64 but in_channels is 3 (x has shape (2, 5, 3, 64, 64), frame_layout='NTHWC'); "
        "your frames look channels-first: use frame_layout='NTCHW' or seqprep.shapes.to_layout(X, 'NTCHW', 'NTHWC')"
    )
    with pytest.raises(ShapeError, match=re.escape(expected)):
        model(torch.randn(2, 5, 3, 64, 64))


def test_channels_last_frames_given_as_channels_first():
    model = TimeDistributedCNNLSTM(3, frame_layout="NTCHW")
    fix = "use frame_layout='NTHWC' or seqprep.shapes.to_layout(X, 'NTHWC', 'NTCHW')"
    with pytest.raises(ShapeError, match=re.escape(fix)):
        model(torch.randn(2, 5, 32, 32, 3))


def test_time_distributed_wrong_ndim_and_channels():
    sub = TimeDistributedCNNLSTM(4)
    with pytest.raises(ShapeError, match=re.escape("to_layout(X, 'NTC', 'NSTC', subsequences=S)")):
        sub(torch.randn(2, 48, 4))
    with pytest.raises(ShapeError, match="frame_layout='NTHWC' or 'NTCHW'"):
        sub(torch.randn(2, 5, 8, 8, 4))
    with pytest.raises(ShapeError, match=re.escape("x.transpose(2, 3)")):
        sub(torch.randn(2, 4, 4, 12))
    with pytest.raises(ShapeError, match="in_channels=5"):
        sub(torch.randn(2, 4, 12, 5))
    frames = TimeDistributedCNNLSTM(3, frame_layout="NTHWC")
    with pytest.raises(ShapeError, match=re.escape("x.unsqueeze(0)")):
        frames(torch.randn(5, 8, 8, 3))
    with pytest.raises(InvalidParameterError, match="`frame_layout` must be one of"):
        TimeDistributedCNNLSTM(3, frame_layout="NHWC")


# --------------------------------------------------------------------------- saving


def _cnnlstm():
    return CNNLSTM(4, n_outputs=2, horizons=3, bidirectional=True), torch.randn(4, 20, 4)


def _frames():
    model = TimeDistributedCNNLSTM(3, frame_layout="NTCHW", conv_channels=(4, 8), lstm_hidden=8)
    return model, torch.randn(2, 3, 3, 8, 8)


@pytest.mark.parametrize("build", [_cnnlstm, _frames], ids=["cnnlstm", "time-distributed"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, build):
    model, x = build()
    model.train()
    model(x).sum().backward()  # move batch-norm running statistics away from their initial values
    model.eval()
    run = save_model(model, tmp_path / "run" / "model")
    assert sorted(p.name for p in run.iterdir()) == ["checksums.json", "config.json", "weights.pt"]
    meta = json.loads((run / "config.json").read_text())
    assert meta["class"] == type(model).__name__ and meta["config"] == model.config
    loaded = load_model(run)
    assert type(loaded) is type(model) and not loaded.training
    assert torch.equal(loaded(x), model(x))
    state = torch.load(run / "weights.pt", weights_only=True)
    assert state.keys() == model.state_dict().keys()


def test_save_overwrites_and_leaves_no_temporary_files(tmp_path):
    save_model(CNNLSTM(2), tmp_path)
    save_model(CNNLSTM(2, n_outputs=3), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checksums.json", "config.json", "weights.pt"]
    assert load_model(tmp_path).n_outputs == 3


def test_load_refuses_tampered_or_missing_files(tmp_path):
    run = save_model(CNNLSTM(2), tmp_path / "run")
    with open(run / "weights.pt", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match="weights.pt was modified after it was saved"):
        load_model(run)
    write_checksums(run, files=["config.json", "weights.pt"])  # checksums.json re-made: config.json still knows
    with pytest.raises(ArtifactError, match="SHA-256 differs"):
        load_model(run)
    with pytest.raises(ArtifactError, match="no config.json"):
        load_model(tmp_path / "elsewhere")
    meta = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**meta, "format_version": 99}))
    write_checksums(run, files=["config.json", "weights.pt"])  # the deeper checks, past checksums.json
    with pytest.raises(ArtifactError, match="format_version=99"):
        load_model(run)
    (run / "config.json").write_text(json.dumps({**meta, "class": "Transformer"}))
    write_checksums(run, files=["config.json", "weights.pt"])
    with pytest.raises(ArtifactError, match="unknown model class 'Transformer'"):
        load_model(run)
    (run / "config.json").write_text("{not json")
    write_checksums(run, files=["config.json", "weights.pt"])
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_model(run)


def test_save_refuses_other_modules(tmp_path):
    with pytest.raises(InvalidParameterError, match="one of seqprep's models"):
        save_model(torch.nn.Linear(2, 2), tmp_path)


# --------------------------------------------------------------------------- training sanity


def test_defaults_learn_a_sine_quickly():
    t = np.arange(300, dtype=np.float32)
    series = np.sin(2 * np.pi * t / 25).astype(np.float32)
    lookback = 24
    X = torch.from_numpy(np.stack([series[i : i + lookback] for i in range(len(series) - lookback)])[:, :, None])
    y = torch.from_numpy(series[lookback:, None])
    model = CNNLSTM(1, lookback=lookback)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()

    def full_loss():
        model.eval()
        with torch.no_grad():
            return loss_fn(model(X), y).item()

    before = full_loss()
    generator = torch.Generator().manual_seed(0)
    for _ in range(100):
        model.train()
        idx = torch.randint(0, len(X), (32,), generator=generator)
        optimiser.zero_grad()
        loss_fn(model(X[idx]), y[idx]).backward()
        optimiser.step()
    after = full_loss()
    assert after < before / 5


# --------------------------------------------------------------------------- ensembles


def _members(task="classification", n_outputs=3, kernels=(3, 5, 7)):
    torch.manual_seed(0)
    return [CNNLSTM(2, n_outputs, task=task, kernel_size=k).eval() for k in kernels]


def test_ensemble_averages_probabilities_or_outputs():
    x = torch.randn(6, 24, 2)
    members = _members()
    ens = Ensemble(members).eval()
    probs = torch.stack([m(x).softmax(-1) for m in members]).mean(0)
    torch.testing.assert_close(ens(x).softmax(-1), probs)
    torch.testing.assert_close(ens(x).exp().sum(-1), torch.ones(6))  # log-probabilities of a distribution
    assert torch.equal(ens(x).argmax(-1), probs.argmax(-1))
    reg = _members("regression", 2)
    torch.testing.assert_close(Ensemble(reg)(x), torch.stack([m(x) for m in reg]).mean(0))
    assert ens.task == "classification" and ens.n_params == sum(m.n_params for m in members)


def test_ensemble_predict_proba_is_the_mean_of_the_members():
    from seqprep.training import predict

    X = np.random.default_rng(0).normal(size=(10, 24, 2)).astype(np.float32)
    members = _members()
    ens = Ensemble(members)
    mean = np.mean([predict(m, X, task="classification", proba=True, device="cpu") for m in members], axis=0)
    np.testing.assert_allclose(predict(ens, X, task="classification", proba=True, device="cpu"), mean, atol=1e-6)


def test_ensemble_save_load_round_trip(tmp_path):
    x = torch.randn(3, 24, 2)
    members = _members()
    for m in members:  # move batch-norm statistics away from their initial values
        m.train()
        m(x).sum().backward()
        m.eval()
    ens = Ensemble(members).eval()
    save_model(ens, tmp_path / "ens")
    meta = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert meta["class"] == "Ensemble"
    assert [e["config"]["kernel_size"] for e in meta["config"]["members"]] == [3, 5, 7]
    loaded = load_model(tmp_path / "ens")
    assert isinstance(loaded, Ensemble) and not loaded.training
    assert torch.equal(loaded(x), ens(x))
    meta["config"]["members"][1]["class"] = "Ensemble"  # nesting is refused
    (tmp_path / "ens" / "config.json").write_text(json.dumps(meta))
    write_checksums(tmp_path / "ens", files=["config.json", "weights.pt"])  # past checksums.json
    with pytest.raises(ArtifactError, match=r"invalid Ensemble config.*members'\]\[1\]"):
        load_model(tmp_path / "ens")


def test_ensemble_errors_name_the_member():
    with pytest.raises(InvalidParameterError, match="`members` must be a non-empty list"):
        Ensemble([])
    with pytest.raises(InvalidParameterError, match="`members` must be a non-empty list"):
        Ensemble(_members()[0])
    with pytest.raises(InvalidParameterError, match=r"`members\[1\]` must be a CNNLSTM"):
        Ensemble([_members()[0], torch.nn.Linear(2, 3)])
    with pytest.raises(InvalidParameterError, match=r"`members\[1\]` must be a model with n_outputs=3"):
        Ensemble([_members()[0], _members(n_outputs=4)[0]])
    with pytest.raises(InvalidParameterError, match=r"`members\[1\]` must be a model with task='classification'"):
        Ensemble([_members()[0], _members("regression")[0]])
