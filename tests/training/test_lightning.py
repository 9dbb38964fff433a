"""The Lightning DataModule over a fitted Pipeline, and the LightningModule wrapper."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import seqprep
from seqprep.exceptions import InvalidParameterError, NotFittedError

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from seqprep.models import CNNLSTM  # noqa: E402
from seqprep.training import make_dataloader  # noqa: E402

# Lightning's own warnings, silenced here only, by message: its pytree helper uses a LeafSpec that torch
# deprecates, and it suggests more loader workers or an unused GPU (not what a 1-epoch test is about).
pytestmark = [
    pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings(r"ignore:The '\w+_dataloader' does not have many workers"),
    pytest.mark.filterwarnings(r"ignore:GPU available but not used"),
]


@pytest.fixture(scope="module")
def pl():
    """Lightning, imported by the tests that use it (a slow import: kept out of collection)."""
    return pytest.importorskip("lightning.pytorch")


@pytest.fixture(scope="module")
def classes(pl):
    import seqprep.training

    return seqprep.training.SeqprepDataModule, seqprep.training.SeqprepModule


def _pipeline(**kw):
    rng = np.random.default_rng(0)
    t = np.arange(400)
    df = pd.DataFrame({"y": np.sin(t / 6) + rng.normal(0, 0.1, t.size), "x": np.cos(t / 11)})
    pipe = seqprep.Pipeline(lookback=16, horizon=1, target="y", features=["y", "x"], **kw)
    pipe.fit(df)
    return pipe


def _trainer(pl):
    return pl.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1)


def test_one_epoch_fit_test_and_predict_on_a_pipeline(pl, classes):
    SeqprepDataModule, SeqprepModule = classes
    pipe = _pipeline()
    dm = SeqprepDataModule(pipe, batch_size=32)
    torch.manual_seed(0)
    module = SeqprepModule(CNNLSTM(2, conv_channels=(8,), lstm_hidden=8))
    t0 = time.perf_counter()
    trainer = _trainer(pl)
    trainer.fit(module, datamodule=dm)
    seconds = time.perf_counter() - t0
    metrics = trainer.callback_metrics
    assert {"train_loss", "val_loss", "val_mae"} <= set(metrics)
    assert all(np.isfinite(float(metrics[k])) for k in ("train_loss", "val_loss", "val_mae"))
    assert seconds < 10, seconds
    (scores,) = trainer.test(module, datamodule=dm, verbose=False)
    assert set(scores) == {"test_loss", "test_mae"}
    preds = torch.cat(trainer.predict(module, datamodule=dm))
    assert preds.shape == (len(pipe.split_.test), 1)


def test_loaders_keep_the_windows_guarantees(classes):
    SeqprepDataModule, _ = classes
    pipe = _pipeline()
    split = pipe.split_
    dm = SeqprepDataModule(split, batch_size=16, seed=3)
    for name, loader in (("val", dm.val_dataloader()), ("test", dm.test_dataloader())):
        X = torch.cat([X for X, _ in loader])
        np.testing.assert_array_equal(X.numpy(), split[name].to_numpy()[0])  # time order, unshuffled
    train = split.train.to_numpy()[0]

    def order(loader):
        rows = torch.cat([X for X, _ in loader]).numpy()
        flat = train.reshape(len(train), -1)
        return [int(np.flatnonzero((flat == r.reshape(-1)).all(axis=1))[0]) for r in rows]

    first, again = order(dm.train_dataloader()), order(SeqprepDataModule(split, batch_size=16, seed=3)
                                                           .train_dataloader())
    assert first == again and first != sorted(first) and sorted(first) == list(range(len(train)))
    assert order(SeqprepDataModule(split, batch_size=16, seed=4).train_dataloader()) != first


def test_augmentation_reaches_the_training_part_only(classes):
    SeqprepDataModule, _ = classes
    pipe = _pipeline(augment="jitter")
    dm = SeqprepDataModule(pipe, batch_size=1000)
    X_train, _ = next(iter(dm.train_dataloader()))
    X_val, _ = next(iter(dm.val_dataloader()))
    unaugmented = np.sort(pipe.split_.train.to_numpy()[0], axis=None)
    assert not np.array_equal(np.sort(X_train.numpy(), axis=None), unaugmented)
    np.testing.assert_array_equal(X_val.numpy(), pipe.split_.val.to_numpy()[0])


def test_sources_and_errors(classes):
    SeqprepDataModule, SeqprepModule = classes
    pipe = _pipeline()
    dm = SeqprepDataModule({"train": pipe.split_.train})
    assert dm.val_dataloader() == [] and dm.test_dataloader() == []
    with pytest.raises(NotFittedError, match="call pipe.fit"):
        SeqprepDataModule(seqprep.Pipeline(lookback=4, horizon=1, target="y"))
    with pytest.raises(InvalidParameterError, match="'train'"):
        SeqprepDataModule({"val": pipe.split_.val})
    with pytest.raises(InvalidParameterError, match="source"):
        SeqprepDataModule(np.zeros(3))
    with pytest.raises(InvalidParameterError, match="batch_size"):
        SeqprepDataModule(pipe, batch_size=0)
    with pytest.raises(InvalidParameterError, match="model"):
        SeqprepModule("not a model")


def test_the_module_trains_on_dict_batches_with_weights(pl, classes):
    _, SeqprepModule = classes
    rng = np.random.default_rng(0)
    n, T, H = 64, 8, 2
    X = {"past": rng.normal(size=(n, T, 1)).astype(np.float32),
         "known": rng.normal(size=(n, T + H, 1)).astype(np.float32),
         "static_cat": rng.integers(0, 3, (n, 1)), "weight": rng.uniform(0.5, 1.5, n).astype(np.float32)}
    y = X["known"][:, T:, 0].astype(np.float32)
    torch.manual_seed(0)
    model = CNNLSTM(1, inputs={"past": ["y"], "known": ["k"], "static_cat": ["s"], "cardinalities": {"s": 3}},
                    horizon=H, horizons=H, conv_channels=(8,), lstm_hidden=8)
    module = SeqprepModule(model, sample_weight=True)
    trainer = _trainer(pl)
    trainer.fit(module, make_dataloader((X, y), batch_size=16, shuffle=True),
                make_dataloader((X, y), batch_size=16))
    assert np.isfinite(float(trainer.callback_metrics["val_mae"]))


def test_seqprep_imports_without_lightning():
    code = ("import sys; sys.modules['lightning'] = None; sys.modules['pytorch_lightning'] = None\n"
            "import seqprep, seqprep.training\n"
            "try:\n    seqprep.training.SeqprepDataModule\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'seqprep[lightning]'" in out.stdout


def test_a_covariate_pipeline_trains_through_the_datamodule(pl, classes):
    SeqprepDataModule, SeqprepModule = classes
    rng = np.random.default_rng(0)
    t = np.arange(300)
    df = pd.DataFrame({"y": np.sin(t / 6) + rng.normal(0, 0.1, t.size), "hour": (t % 24).astype(float),
                       "holiday": np.where(t % 40 < 3, "yes", "no"), "w": rng.uniform(0.5, 2.0, t.size)})
    pipe = seqprep.Pipeline(lookback=16, horizon=[1, 2], target="y", features=["y"], known=["hour", "holiday"],
                            weight="w")
    split = pipe.fit(df)
    torch.manual_seed(0)
    model = CNNLSTM.from_windows(split.train, horizons=2, conv_channels=(8,), lstm_hidden=8)
    trainer = _trainer(pl)
    trainer.fit(SeqprepModule(model, sample_weight=True), datamodule=SeqprepDataModule(pipe, batch_size=32))
    assert np.isfinite(float(trainer.callback_metrics["val_mae"]))
