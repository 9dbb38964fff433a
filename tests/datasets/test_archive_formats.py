"""The UCR/UEA archive's file formats: .txt/.tsv (label first), .arff (flat and relational), .ts header variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqprep.datasets import load_ts, load_ucr
from seqprep.exceptions import DataError

DATA = Path(__file__).resolve().parents[1] / "data"


def test_ucr_text_with_float_labels_and_its_description():
    d = load_ts(DATA / "ucr_coffee" / "Coffee_TRAIN.txt")
    assert d.X.shape == (12, 286, 1) and d.X.dtype == np.float32
    assert sorted(set(d.y.tolist())) == ["0", "1"]  # written as 0.0000000e+00 / 1.0000000e+00
    assert d.metadata["problemName"] == "Coffee" and "spectrograph" in d.metadata["description"]
    assert load_ucr("Coffee", "test", root=DATA / "ucr_coffee").X.shape == (12, 286, 1)


def test_tsv_and_arff_read_the_same_cases_as_each_other():
    tsv = load_ts(DATA / "ucr_arrowhead" / "ArrowHead_TRAIN.tsv")
    arff = load_ts(DATA / "ucr_arrowhead" / "ArrowHead_TRAIN.arff")
    assert tsv.X.shape == arff.X.shape == (12, 251, 1)
    np.testing.assert_allclose(tsv.X, arff.X, atol=1e-6)
    assert tsv.y.tolist() == arff.y.tolist() and arff.metadata["classLabels"] == ["0", "1", "2"]


def test_multivariate_relational_arff():
    d = load_ts(DATA / "uea_basicmotions" / "BasicMotions_TRAIN.arff")
    assert d.X.shape == (12, 100, 6)
    assert set(d.y.tolist()) == {"Standing", "Running", "Walking", "Badminton"}
    assert d.metadata["dimensions"] == 6 and not d.metadata["univariate"]


@pytest.mark.parametrize(("folder", "stem"), [("reg_covid3month", "Covid3Month"), ("reg_tecator", "Tecator")])
def test_target_label_true_in_any_case_is_regression(folder, stem):
    d = load_ts(DATA / folder / f"{stem}_TRAIN.ts")
    assert d.metadata["targetLabel"] is True and d.y.dtype == np.float64


def test_ts_header_variations(tmp_path):
    text = (
        "# comment\r\n#\ufeff a byte-order mark inside a comment\r\n% a percent comment\r\n"
        "@problemName Toy\r\n@problemName Toy\r\n@TIMESTAMPS false\r\n@univariate false\r\n"
        "@classlabel true a b\r\n@data\r\n1,2,3:4,5,6:a\r\n3,2,1:6,5,4:b\r\n"
    )
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_bytes(text.encode("utf-8"))
    d = load_ts(path)
    assert d.X.shape == (2, 3, 2) and d.y.tolist() == ["a", "b"]  # no @dimensions, no @seriesLength
    assert load_ucr("Toy", root=tmp_path).X.shape == (2, 3, 2)


def test_ucr_text_comma_separated_unequal_lengths_and_bad_values(tmp_path):
    path = tmp_path / "Toy_TRAIN.txt"
    path.write_text("1,0.5,0.25,0.125\n2,1.0,2.0,NaN\n")
    d = load_ts(path)
    assert d.lengths.tolist() == [3, 2] and d.y.tolist() == ["1", "2"]
    path.write_text("1 0.5 zero\n")
    with pytest.raises(DataError, match="line 1: 'zero' is not a number"):
        load_ts(path)


def test_ucr_text_as_csv_with_or_without_column_names(tmp_path):
    """A .csv of cases reads as UCR text; a first line of column names (pandas' to_csv) is not a case."""
    rows = ["1.0,0.5,0.25,0.75", "2.0,1.5,1.25,1.75", "1.0,0.1,0.2,0.3"]
    expected = np.array([[0.5, 0.25, 0.75], [1.5, 1.25, 1.75], [0.1, 0.2, 0.3]], dtype=np.float32)
    for header in ("", "label,t0,t1,t2\n", "label,0,1,2\n"):
        path = tmp_path / "Toy_TRAIN.csv"
        path.write_text(header + "\n".join(rows) + "\n")
        data = load_ts(path)
        assert data.X.shape == (3, 3, 1) and (data.X[:, :, 0] == expected).all(), header
        assert data.y.tolist() == ["1", "2", "1"]
    named = tmp_path / "Named_TRAIN.csv"
    named.write_text("up,0.5,0.25\ndown,1.5,1.25\n")  # word labels stay cases
    assert load_ts(named).y.tolist() == ["up", "down"]


def test_a_label_in_the_last_column_is_refused_in_words(tmp_path):
    """Kaggle's heartbeat CSVs put the label last: the first column is then a measurement, not a class."""
    path = tmp_path / "Last_TRAIN.csv"
    path.write_text("-0.518,-0.486,-0.505,0.0\n0.12,0.2,0.3,1.0\n")
    with pytest.raises(DataError, match=r"case 1 is '-0.518', not a class label.*move it first"):
        load_ts(path)
