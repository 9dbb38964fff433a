"""Data sets: UCR/UEA ``.ts`` and Monash ``.tsf`` readers, an embedded weather series and seeded generators.

- :func:`load_ts`, :func:`load_ucr`: read UCR/UEA classification files into
  channels-last ``(n_cases, length, n_channels)`` arrays (:class:`TSData`).
- :func:`load_tsf`: read a Monash forecasting repository ``.tsf`` file into a long
  DataFrame (one row per observation: the series' attributes, ``time``, ``value``).
- :func:`load_weather`: daily Seattle weather 2012-2015, shipped with seqprep
  (NOAA data as distributed by vega_datasets 0.9.0; see ``data/ATTRIBUTION.md``).
- :func:`make_sine`, :func:`make_ar`, :func:`make_panel`,
  :func:`make_classification_sines`: deterministic synthetic data for examples
  and tests.

Importing this module needs numpy and pandas only.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from .._validation import check_bool
from ._generators import make_ar, make_classification_sines, make_panel, make_sine
from ._ts_format import TSData, load_ts, load_ucr
from ._tsf_format import load_tsf

__all__ = [
    "TSData",
    "load_ts",
    "load_tsf",
    "load_ucr",
    "load_weather",
    "make_ar",
    "make_classification_sines",
    "make_panel",
    "make_sine",
]

_WEATHER_FILE = "seattle-weather.csv"
_WEATHER_NUMERIC = ("precipitation", "temp_max", "temp_min", "wind")


def load_weather(as_frame: bool = True) -> pd.DataFrame | dict[str, np.ndarray]:
    """Load the daily Seattle weather, 2012-01-01 to 2015-12-31 (1,461 days).

    The data ship with seqprep and are read with :mod:`importlib.resources`,
    so they work from an installed wheel without network access.

    Source and license: NOAA National Climatic Data Center (Climate Data
    Online daily records, a U.S. Government data set), converted to metric
    units by the vega-datasets project, which also derived the ``weather``
    label; the file is an unmodified copy of ``seattle-weather.csv`` from the
    ``vega_datasets`` Python package 0.9.0 (BSD-3-Clause). Please cite NOAA
    and vega-datasets when publishing results obtained with it. Details are
    in ``seqprep/datasets/data/ATTRIBUTION.md``.

    Parameters
    ----------
    as_frame : bool, default True
        Return a DataFrame. When False, return a dict of 1-D arrays keyed by
        column name (``date`` as ``datetime64[ns]``, ``weather`` as ``object``
        strings).

    Returns
    -------
    DataFrame of shape (1461, 6) or dict of str to ndarray of shape (1461,)
        Columns, one row per day in date order, no missing values:

        - ``date`` (datetime64[ns], a column, not the index): the day;
        - ``precipitation`` (float64): precipitation in mm;
        - ``temp_max``, ``temp_min`` (float64): daily max / min temperature in °C;
        - ``wind`` (float64): wind speed in m/s;
        - ``weather`` (string): ``drizzle``, ``rain``, ``sun``, ``snow`` or ``fog``.

    Examples
    --------
    >>> from seqprep.datasets import load_weather
    >>> weather = load_weather()
    >>> weather.shape
    (1461, 6)
    >>> list(weather.columns)
    ['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']
    >>> str(weather["date"].iloc[0].date()), float(weather["temp_max"].iloc[0])
    ('2012-01-01', 12.8)
    >>> list(load_weather(as_frame=False))
    ['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']
    """
    as_frame = check_bool(as_frame, "as_frame")
    source = resources.files(__name__).joinpath("data").joinpath(_WEATHER_FILE)
    with source.open("rb") as handle:
        frame = pd.read_csv(
            handle,
            dtype={**dict.fromkeys(_WEATHER_NUMERIC, np.float64), "date": str, "weather": str},
        )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y/%m/%d").astype("datetime64[ns]")
    if as_frame:
        return frame
    return {
        name: (frame[name].to_numpy(dtype=object) if name == "weather" else frame[name].to_numpy())
        for name in frame.columns
    }
