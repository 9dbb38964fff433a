"""doctor() on dict batches: keys against the model's declared inputs, and embedding failures explained."""

from __future__ import annotations

import numpy as np
import pytest

from seqprep import doctor
from seqprep.diagnosis.batches import check_dict_batch, embedding_dim, input_spec
from seqprep.exceptions import InvalidParameterError, ShapeError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from seqprep.models import CNNLSTM  # noqa: E402

T, H = 10, 3
INPUTS = {"past": ["a", "b"], "known": ["k"], "known_cat": ["hol"], "static_cat": ["region"],
          "cardinalities": {"hol": 3, "region": 4}}


def _batch(n=4):
    rng = np.random.default_rng(0)
    return {"past": rng.normal(size=(n, T, 2)).astype(np.float32),
            "known": rng.normal(size=(n, T + H, 1)).astype(np.float32),
            "known_cat": rng.integers(0, 3, (n, T + H, 1)), "static_cat": rng.integers(0, 4, (n, 1)),
            "weight": np.ones(n, np.float32)}


@pytest.fixture
def model():
    torch.manual_seed(0)
    return CNNLSTM(2, inputs=INPUTS, horizon=H, conv_channels=(8,), lstm_hidden=8)


def test_a_fitting_dict_batch_runs_and_reports_every_key(model):
    report = doctor(model, _batch())
    assert report.ok, report
    assert report.input_shape == (2, T, 2)
    assert report.input_shapes["known"] == (2, T + H, 1)
    text = str(report)
    assert "batch past (2, 10, 2), known (2, 13, 1)" in text and "OK: forward pass dict batch -> (2, 1)" in text


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (lambda b: {k: v for k, v in b.items() if k != "known"}, "DICT_KEY_MISSING", "has no 'known'"),
        (lambda b: {**b, "known": b["known"][:, :T]}, "KNOWN_ROWS", "T + H = 10 + 3 = 13"),
        (lambda b: {**b, "static_cat": b["static_cat"] + 4}, "CATEGORY_OUT_OF_RANGE", "'region' holds code"),
        (lambda b: {**b, "known_cat": b["known_cat"].astype(np.float32)}, "CATEGORY_NOT_INTEGER", "float32"),
        (lambda b: {**b, "static": np.ones((4, 2), np.float32)}, "DICT_KEY_UNDECLARED", "would ignore"),
        (lambda b: {**b, "extra": b["weight"]}, "DICT_UNKNOWN_KEY", "'extra'"),
        (lambda b: {**b, "past": b["past"].astype(np.int64)}, "DICT_DTYPE", "int64"),
    ],
)
def test_a_misfit_key_is_named_with_its_cause_and_fix(model, change, code, words):
    report = doctor(model, change(_batch()))
    assert not report.ok
    assert report.diagnosis.code == code
    assert words in report.diagnosis.message
    assert report.diagnosis.fix
    assert report.rows == []  # refused before the forward pass
    text = str(report)
    assert f"Diagnosis [{code}]" in text and "the model was not run" in text
    with pytest.raises(ShapeError, match="Fix:"):
        doctor(model, change(_batch()), raise_on_error=True)


def test_a_plain_seqprep_model_refuses_covariates_it_would_ignore():
    torch.manual_seed(0)
    report = doctor(CNNLSTM(2, conv_channels=(8,), lstm_hidden=8), _batch())
    assert report.diagnosis.code == "DICT_KEY_UNDECLARED"


class _UserModel(torch.nn.Module):
    """A user's model reading a dict with its own embedding (no declared inputs)."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(3, 2)
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.head(torch.cat([x["past"][:, -1], self.emb(x["static_cat"][:, 0])], dim=1))


def test_embedding_failures_of_any_model_are_explained():
    b = _batch()
    b["static_cat"] = np.array([[3], [1], [0], [2]])
    report = doctor(_UserModel(), b)
    assert report.diagnosis.code == "CATEGORY_OUT_OF_RANGE" and report.diagnosis.layer == "emb"
    assert "has 3 codes" in report.diagnosis.message and "'static_cat' column 0 holds codes 1 .. 3" in \
        report.diagnosis.message
    report = doctor(_UserModel(), {**b, "static_cat": b["static_cat"].astype(np.float32)})
    assert report.diagnosis.code == "CATEGORY_NOT_INTEGER"
    assert doctor(_UserModel(), {**b, "static_cat": b["static_cat"] % 3}).ok


def test_doctor_takes_windows_whose_batches_are_dicts(model):
    class Windows:
        class spec:  # noqa: N801 - what doctor reads of a seqprep Windows' spec
            layout = "NTC"

        def __len__(self):
            return 4

        def __getitem__(self, index):
            return {k: v[index] for k, v in _batch().items()}, np.zeros(4)[index]

    assert doctor(model, windows=Windows()).ok


def test_dict_batch_errors_for_keras_and_empty_keys(model):
    with pytest.raises(ShapeError, match="holds no sample"):
        doctor(model, {"past": np.zeros((0, T, 2), np.float32)})
    with pytest.raises(InvalidParameterError, match="batch axis"):
        doctor(model, {"past": 3.0})


def test_input_spec_and_embedding_rule():
    spec = input_spec(INPUTS, horizon=H, masks=True)
    assert spec == {"past": 2, "past_cat": {}, "known": 1, "known_cat": {"hol": 3}, "static": 0,
                    "static_cat": {"region": 4}, "horizon": 3, "masks": True}
    assert [embedding_dim(n) for n in (1, 2, 3, 10, 100, 10_000)] == [1, 1, 3, 6, 16, 16]
    assert input_spec({"past": ["y"]})["horizon"] == 0
    with pytest.raises(InvalidParameterError, match="at least one past column"):
        input_spec({"known": ["k"]}, horizon=1)
    b = _batch()
    b["past_mask"] = np.zeros((4, T, 2), bool)
    b["known_mask"] = np.zeros((4, T + H, 1), bool)
    assert check_dict_batch(b, spec) is None
    assert check_dict_batch({**b, "past_mask": b["past_mask"][:, 1:]}, spec).code == "DICT_SHAPE"
    assert check_dict_batch({**b, "past_mask": b["past_mask"].astype("U1")}, spec).code == "DICT_DTYPE"


def test_an_ensemble_declares_its_members_inputs(model):
    from seqprep.models import Ensemble

    torch.manual_seed(1)
    other = CNNLSTM(2, inputs=INPUTS, horizon=H, conv_channels=(4,), lstm_hidden=4)
    ens = Ensemble([model, other])
    assert ens.input_spec == model.input_spec
    assert doctor(ens, {**_batch(), "known": _batch()["known"][:, :T]}).diagnosis.code == "KNOWN_ROWS"
    assert Ensemble([model, CNNLSTM(2)]).input_spec is None
