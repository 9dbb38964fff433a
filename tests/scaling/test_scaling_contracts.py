"""Contract checks run on every scaler class (scikit-learn's check_estimator idea, scaled down)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqprep.exceptions import ArtifactError, InvalidParameterError, NotFittedError, ShapeError
from seqprep.scaling import (
    BaseScaler,
    ColumnScaler,
    IdentityScaler,
    Log1pScaler,
    MaxAbsScaler,
    MinMaxScaler,
    PixelScaler,
    RobustScaler,
    StandardScaler,
)

SCALERS = [
    StandardScaler,
    MinMaxScaler,
    RobustScaler,
    MaxAbsScaler,
    Log1pScaler,
    PixelScaler,
    IdentityScaler,
    lambda: ColumnScaler({0: "log1p", 2: "minmax"}),
]
IDS = ["standard", "minmax", "robust", "maxabs", "log1p", "pixel", "none", "column"]


def _data(rng, n=301, f=3, dtype=np.float64):
    return (rng.random((n, f)) * [10.0, 20.0, 200.0]).astype(dtype)


@pytest.fixture(params=range(len(SCALERS)), ids=IDS)
def make(request):
    return SCALERS[request.param]


def test_init_only_stores_keyword_params(make):
    s = make()
    params = s.get_params()
    assert set(params) == set(type(s)._get_param_names())
    clone = type(s)(**params) if not isinstance(s, ColumnScaler) else ColumnScaler(**params)
    assert clone.get_params().keys() == params.keys()
    assert not any(k.endswith("_") for k in vars(s))


def test_set_params_unknown_raises(make):
    with pytest.raises(InvalidParameterError, match="has no 'bogus'"):
        make().set_params(bogus=1)


def test_not_fitted_errors(make, rng):
    X = _data(rng)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        make().transform(X)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        make().inverse_transform(X)


def test_width_checked_both_directions(make, rng):
    X = _data(rng)
    s = make().fit(X)
    name = type(s).__name__
    with pytest.raises(ShapeError, match=f"X has 2 features, but {name} is expecting 3 features as input"):
        s.transform(X[:, :2])
    with pytest.raises(ShapeError, match=f"X has 2 features, but {name} is expecting 3 features as input"):
        s.inverse_transform(X[:, :2])
    with pytest.raises(ShapeError, match=f"X has 3 features, but {name} is expecting 1 features"):
        s.inverse_transform(X, features=[1])
    with pytest.raises(ShapeError, match="X has 4 features"):
        s.partial_fit(np.hstack([X, X[:, :1]])) if not isinstance(s, RobustScaler) else s.transform(
            np.hstack([X, X[:, :1]])
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
def test_round_trip_and_dtype(make, rng, dtype):
    X = _data(rng, dtype=dtype)
    s = make().fit(X)
    Y = s.transform(X)
    want = np.float64 if dtype == np.float64 else np.float32
    assert Y.dtype == want and Y.shape == X.shape
    back = s.inverse_transform(Y)
    assert back.dtype == want
    np.testing.assert_allclose(back, X.astype(np.float64), rtol=1e-5 if want == np.float32 else 1e-12, atol=1e-4)


def test_round_trip_subset_of_features(make, rng):
    X = _data(rng)
    s = make().fit(X)
    Y = s.transform(X)
    np.testing.assert_allclose(s.inverse_transform(Y[:, [2, 0]], features=[2, 0]), X[:, [2, 0]], rtol=1e-12)


def test_no_mutation_of_input(make, rng):
    X = _data(rng)
    X[3, 1] = np.nan
    keep = X.copy()
    s = make().fit(X)
    s.inverse_transform(s.transform(X))
    np.testing.assert_array_equal(X, keep)


def test_nan_passes_through(make, rng):
    X = _data(rng)
    X[5, 1] = np.nan
    Y = make().fit(X).transform(X)
    assert np.isnan(Y[5, 1]) and np.isfinite(np.delete(Y.ravel(), 5 * 3 + 1)).all()


def test_partial_fit_equals_fit(make, rng):
    X = _data(rng, n=1000)
    full = make().fit(X)
    if isinstance(full, RobustScaler) or (isinstance(full, ColumnScaler)):
        s = make()
        if isinstance(s, RobustScaler):
            with pytest.raises(InvalidParameterError, match="Call fit"):
                s.partial_fit(X)
            return
    s = make()
    for part in np.array_split(X, [1, 7, 300, 301]):
        s.partial_fit(part)
    np.testing.assert_allclose(s.transform(X), full.transform(X), rtol=1e-12, atol=1e-12)
    assert s.n_samples_seen_ == 1000 or np.all(s.n_samples_seen_ == 1000) or isinstance(s, ColumnScaler)


def test_fit_resets(make, rng):
    X = _data(rng)
    s = make().fit(X * 2)
    s.fit(X)
    np.testing.assert_allclose(s.transform(X), make().fit(X).transform(X))


def test_frames_statistics_per_channel(make, rng):
    frames = (rng.random((20, 4, 5, 3)) * [1.0, 20.0, 300.0])
    s = make().fit(frames)
    flat = make().fit(frames.reshape(-1, 3))
    np.testing.assert_allclose(s.transform(frames).reshape(-1, 3), flat.transform(frames.reshape(-1, 3)), rtol=1e-12)
    assert s.n_features_in_ == 3


def test_to_dict_round_trip_through_json(make, rng):
    X = _data(rng)
    s = make().fit(X)
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    t = BaseScaler.from_dict(d)
    assert type(t) is type(s)
    np.testing.assert_array_equal(t.transform(X), s.transform(X))
    unfitted = BaseScaler.from_dict(json.loads(json.dumps(make().to_dict())))
    with pytest.raises(NotFittedError):
        unfitted.transform(X)


def test_from_dict_rejects_malformed(make, rng):
    d = make().fit(_data(rng)).to_dict()
    with pytest.raises(ArtifactError, match="Unknown scaler class"):
        BaseScaler.from_dict({**d, "class": "os.system"})
    with pytest.raises(ArtifactError):
        BaseScaler.from_dict({**d, "fitted": {"n_features_in_": -1}})
    with pytest.raises(ArtifactError):
        BaseScaler.from_dict({"class": d["class"]})


def test_dataframe_names(make, rng):
    pd = pytest.importorskip("pandas")
    X = _data(rng)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    s = make().fit(df)
    assert list(s.feature_names_in_) == ["a", "b", "c"]
    Y = s.transform(df)
    np.testing.assert_allclose(s.inverse_transform(Y[:, 2:], features=["c"]), X[:, 2:], rtol=1e-12)
    with pytest.raises(ValueError, match="feature names"):
        s.transform(df[["b", "a", "c"]])


def test_sklearn_pipeline(make, rng):
    pipeline = pytest.importorskip("sklearn.pipeline")
    linear = pytest.importorskip("sklearn.linear_model")
    base = pytest.importorskip("sklearn.base")
    X = _data(rng)
    y = X @ [1.0, 2.0, 3.0]
    pipe = pipeline.Pipeline([("scale", make()), ("model", linear.LinearRegression())]).fit(X, y)
    assert np.isfinite(pipe.score(X, y))
    cloned = base.clone(pipe).fit(X, y)
    np.testing.assert_allclose(cloned.predict(X), pipe.predict(X))
