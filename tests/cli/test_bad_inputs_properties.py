"""Property tests: generated malformed CSV, TOML and .ts text given to seqprep's readers.

Whatever the text, a reader gives a valid result or a :class:`seqprep.SeqprepError` -- never another
exception (a ``KeyError``, pandas' ``ParserError``, a ``UnicodeDecodeError``, ...). This is the
reader layer of issue 14: every file is decoded in one place (``seqprep.io``), and every failure
there is a one-line error naming the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import seqprep
from seqprep.datasets import load_ts
from seqprep.io import read_table

# 60 examples each in CI; SEQPREP_FUZZ_EXAMPLES=1500 for a deeper run.
FAST = settings(max_examples=int(os.environ.get("SEQPREP_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------------- CSV
_CELL = st.one_of(
    st.integers(-5, 5).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr), st.just(""),
    st.sampled_from(["2020-01-01", "2020-13-45", "nan", "inf", "?", "a", "\"q,\"", "\"", "1e999", "0x10", "é"]),
    st.text(max_size=4),
)
_NAME = st.one_of(st.sampled_from(["a", "b", "t", "date", "a.1", "", " a", "\"a\""]), st.text(max_size=3))


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    names = draw(st.lists(_NAME, min_size=0, max_size=4))
    n_rows = draw(st.integers(0, 6))
    rows = [",".join(draw(st.lists(_CELL, min_size=0, max_size=len(names) + 1))) for _ in range(n_rows)]
    text = "\n".join([",".join(names), *rows]) + draw(st.sampled_from(["", "\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-16"]))
    raw = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        raw = raw[: draw(st.integers(0, len(raw)))]
    if draw(st.integers(0, 9)) == 0:
        raw = draw(st.binary(max_size=64))
    return raw


@FAST
@given(raw=csv_bytes())
@example(raw=b"a,0\x0c\n0")  # found on CI-like run: a column named "0\x0c" made a two-line message
def test_csv_reader_refuses_or_reads(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_bytes(raw)
        try:
            frame = read_table(path)
        except seqprep.SeqprepError as exc:
            assert "data.csv" in str(exc) and len(str(exc).splitlines()) == 1
            return
        assert len(frame) > 0 and frame.columns.is_unique
        try:
            seqprep.windows(path, lookback=1, target=str(frame.columns[0]))
        except seqprep.SeqprepError as exc:
            assert len(str(exc).splitlines()) == 1


# ------------------------------------------------------------------------------------------ TOML
_TOML_VALUE = st.one_of(
    st.integers(-(2**70), 2**70).map(str), st.floats(allow_nan=False).map(repr),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(max_size=6).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.lists(st.integers(-3, 3), max_size=3).map(str), st.just('["a", "a"]'), st.just('"7D"'), st.just('"x,y"'),
    st.just("[0.7, 0.15, 0.15]"), st.just('["2020-01-01", "2020-02-01"]'), st.just("{}"), st.just("nan"),
)
_TOML_KEY = st.sampled_from(["lookback", "horizon", "gap", "split", "epochs", "seed", "lr", "batch_size", "patience",
                             "period", "features", "target", "time", "group", "scaler", "device", "augment", "model",
                             "out", "data", "nope"])


@FAST
@given(pairs=st.lists(st.tuples(_TOML_KEY, _TOML_VALUE), max_size=5, unique_by=lambda kv: kv[0]),
       junk=st.sampled_from(["", "=", "[[x]]\n", "lookback = \n", "\x00", "[model]\nmembers = 'x'\n"]))
def test_toml_settings_refused_or_parsed(pairs: list[tuple[str, str]], junk: str) -> None:
    from seqprep.cli._train import _check_settings, _read_toml

    text = "".join(f"{k} = {v}\n" for k, v in pairs) + junk
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cfg.toml"
        path.write_text(text, encoding="utf-8")
        try:
            cfg = _check_settings(_read_toml(str(path)), f" in {str(path)!r}")
        except seqprep.SeqprepError as exc:
            assert len(str(exc).splitlines()) == 1
            return
    for key in ("lookback", "epochs", "seed", "batch_size", "patience", "period"):
        if key in cfg:
            assert isinstance(cfg[key], int) and not isinstance(cfg[key], bool) and abs(cfg[key]) < 2**63


# ------------------------------------------------------------------------------------------- .ts
_HEADER = st.sampled_from([
    "@problemName Toy", "@univariate true", "@univariate false", "@equalLength true", "@equalLength false",
    "@seriesLength 3", "@seriesLength 0", "@seriesLength x", "@dimensions 1", "@dimensions 2", "@classLabel true a b",
    "@classLabel true a", "@classLabel true", "@classLabel false", "@targetLabel true", "@missing false",
    "@timeStamps true", "@bogus", "@", "# a comment", "",
])
_TS_VALUES = st.lists(st.sampled_from(["1", "2.5", "-3", "?", "", "x", "1e3", "nan"]), min_size=0, max_size=5)


@st.composite
def ts_text(draw: st.DrawFn) -> str:
    head = draw(st.lists(_HEADER, max_size=6))
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        channels = [",".join(draw(_TS_VALUES)) for _ in range(draw(st.integers(1, 3)))]
        label = draw(st.sampled_from(["a", "b", "c", "0.5", "", None]))
        rows.append(":".join(channels) + (f":{label}" if label is not None else ""))
    data = [] if draw(st.integers(0, 9)) == 0 else ["@data"]
    return "\n".join(head + data + rows) + "\n"


@pytest.mark.filterwarnings("ignore::seqprep.DataWarning")
@FAST
@given(text=ts_text())
def test_ts_reader_refuses_or_reads(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.ts"
        path.write_text(text, encoding="utf-8")
        try:
            data = load_ts(path)
        except seqprep.SeqprepError as exc:
            assert "case.ts" in str(exc) and len(str(exc).splitlines()) == 1
            return
    assert data.X.ndim == 3 and len(data.lengths) == data.n_cases
    if data.metadata.get("equalLength") is True:
        assert len(set(data.lengths.tolist())) == 1
    if data.y is not None and data.metadata.get("classLabels"):
        assert set(np.asarray(data.y).tolist()) <= set(data.metadata["classLabels"])
