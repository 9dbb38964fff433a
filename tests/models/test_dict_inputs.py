"""Reference models on dict batches (known / static / categorical inputs, masks): shapes, routing, errors, saving."""

from __future__ import annotations

import numpy as np
import pytest

from seqprep.exceptions import DataError, InvalidParameterError, ShapeError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from seqprep.models import CNNLSTM, LSTMFCN, Ensemble, TimeDistributedCNNLSTM, load_model, save_model  # noqa: E402

T, H, B = 12, 3, 4
INPUTS = {
    "past": ["load", "temp"], "past_cat": ["weekday"], "known": ["hour", "price"], "known_cat": ["holiday"],
    "static": ["size"], "static_cat": ["region"],
    "cardinalities": {"weekday": 8, "holiday": 3, "region": 5},
}
SMALL = {"conv_channels": (8,), "lstm_hidden": 8, "dropout": 0.0}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _batch(masks: bool = True, extra: bool = True) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    b = {
        "past": torch.randn(B, T, 2, generator=g),
        "past_cat": torch.randint(0, 8, (B, T, 1), generator=g),
        "known": torch.randn(B, T + H, 2, generator=g),
        "known_cat": torch.randint(0, 3, (B, T + H, 1), generator=g),
        "static": torch.randn(B, 1, generator=g),
        "static_cat": torch.randint(0, 5, (B, 1), generator=g),
    }
    if masks:
        b["past_mask"] = torch.rand(B, T, 2, generator=g) < 0.2
        b["known_mask"] = torch.zeros(B, T + H, 2, dtype=torch.bool)
    if extra:  # the training loop's keys: models ignore them
        b["weight"] = torch.ones(B)
        b["target_loc"] = torch.zeros(B, 1)
        b["target_scale"] = torch.ones(B, 1)
    return b


def _model(**kw):
    return CNNLSTM(2, inputs=INPUTS, horizon=H, masks=True, horizons=H, **{**SMALL, **kw}).eval()


def test_every_key_reaches_the_output_and_the_loop_keys_do_not():
    model, b = _model(), _batch()
    base = model(b)
    assert base.shape == (B, H, 1)
    for key in ("past", "known", "static"):
        assert not torch.equal(model({**b, key: b[key] + 1.0}), base), key
    for key, n in (("past_cat", 8), ("known_cat", 3), ("static_cat", 5)):
        assert not torch.equal(model({**b, key: (b[key] + 1) % n}), base), key
    assert not torch.equal(model({**b, "past_mask": ~b["past_mask"]}), base)
    # the horizon rows of the known inputs reach the head: change only those
    future = b["known"].clone()
    future[:, T:] += 1.0
    assert not torch.equal(model({**b, "known": future}), base)
    same = {**b, "weight": torch.rand(B), "target_loc": torch.randn(B, 1), "target_scale": torch.rand(B, 1)}
    assert torch.equal(model(same), base)


def test_embeddings_are_sized_by_the_rule_and_can_be_overridden():
    model = _model()
    assert model.config["embedding_dims"] == {"weekday": 5, "holiday": 3, "region": 4}
    widths = {k: e.embedding_dim for k, e in model.join.embeddings.items()}
    assert widths == {"past_cat0": 5, "known_cat0": 3, "static_cat0": 4}
    assert [e.num_embeddings for e in model.join.embeddings.values()] == [8, 3, 5]
    # conv input: past 2 + mask 2 + weekday 5 + known 2 + known mask 2 + holiday 3 = 16
    assert model.blocks[0].conv.in_channels == 16
    # head: LSTM 8 + H * (known 2 + mask 2 + holiday 3) + static 1 + region 4 = 8 + 21 + 5
    assert model.head.in_features == 34
    wide = _model(embedding_dims={"region": 7})
    assert wide.join.embeddings["static_cat0"].embedding_dim == 7
    with pytest.raises(InvalidParameterError, match="Unknown columns: 'nope'"):
        _model(embedding_dims={"nope": 2})


def test_save_and_load_round_trip_through_json_config(tmp_path):
    model, b = _model(linear_path=True, lookback=T, skip_index=0), _batch()
    save_model(model, tmp_path / "m")
    config = (tmp_path / "m" / "config.json").read_text()
    assert '"cardinalities"' in config and '"horizon": 3' in config
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["checksums.json", "config.json", "weights.pt"]
    again = load_model(tmp_path / "m")
    assert torch.equal(again(b), model(b))
    assert again.input_spec == model.input_spec


def test_lstm_fcn_and_ensembles_read_dict_batches(tmp_path):
    b = _batch()
    fcn = LSTMFCN(2, 3, lookback=T, conv_channels=(8, 8, 8), inputs=INPUTS, horizon=H, masks=True).eval()
    assert fcn(b).shape == (B, 3)
    timed = LSTMFCN(2, 3, lookback=T, conv_channels=(8, 8, 8), lstm_input="time", inputs=INPUTS, horizon=H,
                    masks=True).eval()
    assert timed(b).shape == (B, 3)
    ens = Ensemble([_model(), _model(kernel_size=5)]).eval()
    save_model(ens, tmp_path / "e")
    assert torch.equal(load_model(tmp_path / "e")(b), ens(b))
    save_model(fcn, tmp_path / "f")
    assert torch.equal(load_model(tmp_path / "f")(b), fcn(b))


def test_a_plain_model_takes_a_past_only_dict_and_refuses_covariates_it_would_ignore():
    model = CNNLSTM(2, **SMALL).eval()
    x = torch.randn(B, T, 2)
    assert torch.equal(model({"past": x, "weight": torch.ones(B)}), model(x))
    with pytest.raises(ShapeError, match="carries 'known'.*would ignore"):
        model({"past": x, "known": torch.randn(B, T + H, 1)})


def test_ridge_path_and_persistence_skip_read_past_only():
    model = _model(linear_path=True, lookback=T, skip_index=1)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.linear.weight.fill_(0.5)
    b = _batch()
    out = model(b)
    expected = 0.5 * b["past"].reshape(B, -1).sum(1) + b["past"][:, -1, 1] + model.linear.bias[0]
    torch.testing.assert_close(out[:, 0, 0], expected)
    assert torch.equal(model({**b, "known": b["known"] + 5.0}), out)  # the head is off: known cannot reach


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda b: {k: v for k, v in b.items() if k != "known"}, ShapeError, "no 'known'"),
        (lambda b: {**b, "known": b["known"][:, :T]}, ShapeError, r"12 rows per window.*T \+ H = 12 \+ 3 = 15"),
        (lambda b: {**b, "known": torch.randn(B, T + H + 2, 2)}, ShapeError, "horizon=5"),
        (lambda b: {**b, "static_cat": b["static_cat"] + 5}, DataError, "'region' holds code .* 5 codes"),
        (lambda b: {**b, "past_cat": b["past_cat"] - 9}, DataError, "'weekday' holds code -"),
        (lambda b: {**b, "known_cat": b["known_cat"].float()}, DataError, "must be integers"),
        (lambda b: {**b, "past": b["past"][:, :, :1]}, ShapeError, r"'past' has shape \(4, 12, 1\)"),
        (lambda b: {**b, "static": b["static"][:2]}, ShapeError, "different numbers of windows"),
        (lambda b: {**b, "futur": b["static"]}, ShapeError, "'futur', which are not seqprep batch keys"),
        (lambda b: {k: v for k, v in b.items() if k != "past_mask"}, ShapeError, "nan_policy='mask'"),
        (lambda b: {**b, "known": b["known"].numpy()}, InvalidParameterError, "a torch.Tensor"),
    ],
)
def test_bad_dict_batches_fail_with_their_cause(change, error, match):
    with pytest.raises(error, match=match):
        _model()(change(_batch()))


def test_refused_combinations_say_what_to_do():
    b = _batch()
    with pytest.raises(InvalidParameterError, match="a dict batch for a model built with inputs"):
        _model()(torch.randn(B, T, 2))
    with pytest.raises(InvalidParameterError, match="`lengths` must be None with a dict batch"):
        CNNLSTM(2, task="classification", n_outputs=2, **SMALL)({"past": b["past"]}, torch.full((B,), T))
    with pytest.raises(InvalidParameterError, match="does not read dict batches.*from_windows"):
        TimeDistributedCNNLSTM(2)(b)
    with pytest.raises(InvalidParameterError, match="`horizon` must be None without inputs"):
        CNNLSTM(2, horizon=3)
    with pytest.raises(InvalidParameterError, match="horizon"):
        CNNLSTM(2, inputs=INPUTS)  # known inputs need H
    with pytest.raises(InvalidParameterError, match="n_features"):
        CNNLSTM(3, inputs=INPUTS, horizon=H)
    with pytest.raises(InvalidParameterError, match="Missing: 'region'"):
        CNNLSTM(2, inputs={**INPUTS, "cardinalities": {"weekday": 8, "holiday": 3}}, horizon=H)


class _FakeWindows:
    """What from_windows reads: len, a slice giving (X, y), and .inputs."""

    def __init__(self, batch, inputs):
        self.batch, self.inputs = batch, inputs

    def __len__(self):
        return B

    def __getitem__(self, index):
        return {k: v[index].numpy() for k, v in self.batch.items()}, np.zeros(B)[index]


def test_from_windows_reads_inputs_horizon_and_masks():
    b = _batch()
    model = CNNLSTM.from_windows(_FakeWindows(b, INPUTS), horizons=H, **SMALL).eval()
    assert model.input_spec["horizon"] == H and model.input_spec["masks"] is True
    assert model(b).shape == (B, H, 1)
    no_masks = {k: v for k, v in b.items() if not k.endswith("_mask")}
    assert CNNLSTM.from_windows(_FakeWindows(no_masks, INPUTS), **SMALL).input_spec["masks"] is False

    class Plain:
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return np.zeros((3, T, 2), np.float32)[index], np.zeros(3)[index]

    assert CNNLSTM.from_windows(Plain()).input_spec["known"] == 0


def test_known_inputs_with_horizon_zero_have_no_future_rows(tmp_path):
    model = CNNLSTM(2, inputs=INPUTS, horizon=0, **SMALL).eval()
    b = {k: (v[:, :T] if k.startswith("known") else v) for k, v in _batch(masks=False).items()}
    assert model(b).shape == (B, 1)
    save_model(model, tmp_path / "m")
    assert torch.equal(load_model(tmp_path / "m")(b), model(b))
