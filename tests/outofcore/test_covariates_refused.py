"""The out-of-core export and seqprep.dask refuse issue 17's roles up front, naming what is not supported yet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqprep import Pipeline
from seqprep.exceptions import InvalidParameterError, NotSupportedError
from seqprep.outofcore import export, fit_stream


def frame() -> pd.DataFrame:
    n = 60
    return pd.DataFrame({
        "y": np.sin(np.arange(n) / 5.0),
        "hol": (np.arange(n) % 7 == 0).astype(float),
        "w": np.ones(n),
        "day": np.array(["mon", "tue", "wed"])[np.arange(n) % 3],
    })


@pytest.fixture
def npy(tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, frame()[["y", "hol", "w"]].to_numpy())
    return path


ROLES = [
    ({"known": ["hol"]}, r"known=\['hol'\]"),
    ({"weight": "w"}, "weight"),
    ({"nan_policy": "mask"}, "nan_policy='mask'"),
]


@pytest.mark.parametrize(("kwargs", "named"), ROLES)
def test_streaming_refuses_roles(npy, tmp_path, kwargs, named):
    pipe = Pipeline(lookback=4, target="y", features=["y"], split=(0.8, 0.2), **kwargs)
    for call in (lambda: fit_stream(pipe, npy, columns=["y", "hol", "w"]),
                 lambda: export(pipe, npy, tmp_path / "out", columns=["y", "hol", "w"])):
        with pytest.raises(NotSupportedError, match=f"not supported for streaming yet.*Received: .*{named}") as err:
            call()
        assert "Pipeline.fit in memory" in str(err.value)
        assert isinstance(err.value, InvalidParameterError)
    assert not (tmp_path / "out").exists()  # refused before the directory is made


def test_streaming_refuses_a_pipeline_fitted_with_categorical_columns(npy, tmp_path):
    pipe = Pipeline(lookback=4, target="y", features=["y", "day"], split=(0.8, 0.2))
    pipe.fit(frame())
    with pytest.raises(NotSupportedError, match="categorical columns 'day'"):
        export(pipe, npy, tmp_path / "out", columns=["y", "hol", "w"])


def test_dask_refuses_roles_and_categorical_columns():
    dd = pytest.importorskip("dask.dataframe")
    from seqprep.dask import fit_pipeline

    ddf = dd.from_pandas(frame(), npartitions=1)
    for kwargs, named in ROLES:
        pipe = Pipeline(lookback=4, target="y", features=["y"], split=(0.8, 0.2), **kwargs)
        with pytest.raises(NotSupportedError, match=f"not supported with seqprep.dask yet.*{named}"):
            fit_pipeline(pipe, ddf)
    pipe = Pipeline(lookback=4, target="y", features=["y", "day"], split=(0.8, 0.2))
    with pytest.raises(NotSupportedError, match="categorical columns 'day'"):
        fit_pipeline(pipe, ddf)
    pipe = Pipeline(lookback=4, target="y", group="day", static=["hol"], split=(0.8, 0.2))
    with pytest.raises(NotSupportedError, match=r"static=\['hol'\]"):
        fit_pipeline(pipe, ddf)
