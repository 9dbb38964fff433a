from __future__ import annotations

import base64
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from seqprep.exceptions import InvalidParameterError, ShapeError  # noqa: E402
from seqprep.report import (  # noqa: E402
    build_run_report,
    plot_confusion_matrix,
    plot_example_windows,
    plot_feature_distributions,
    plot_learning_curves,
    plot_predictions,
    plot_split_timeline,
    save_figure,
    write_html_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PARTS = [
    {"name": "train", "start": 0, "end": 700, "n_windows": 676},
    {"name": "val", "start": 724, "end": 850, "n_windows": 102},
    {"name": "test", "start": 874, "end": 1000, "n_windows": 102},
]
GAPS = [(700, 724), (850, 874)]
HISTORY = [
    {"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e + 0.01 * e, "val_metric": 0.5 / e, "lr": 1e-3 / e}
    for e in range(1, 9)
]


def _is_png(path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(PNG_MAGIC)


def test_split_timeline_rows_dates_and_folds(tmp_path):
    fig = plot_split_timeline(PARTS, GAPS, path=tmp_path / "split.png")
    assert isinstance(fig, Figure) and _is_png(tmp_path / "split.png")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "train  676 windows" in labels
    times = pd.date_range("2024-01-01", periods=1000, freq="h")
    dated = [{**p, "start": times[p["start"]], "end": times[p["end"] - 1]} for p in PARTS]
    plot_split_timeline(dated, [(times[700], times[724])], path=tmp_path / "dated.png")
    assert _is_png(tmp_path / "dated.png")
    folds = [{"name": "train", "start": 0, "end": 300 + 100 * k, "fold": k} for k in range(3)]
    folds += [{"name": "test", "start": 324 + 100 * k, "end": 400 + 100 * k, "fold": k} for k in range(3)]
    fig = plot_split_timeline(folds, [{"start": 300 + 100 * k, "end": 324 + 100 * k, "fold": k} for k in range(3)])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["fold 0", "fold 1", "fold 2"]


def test_split_timeline_validates_parts():
    with pytest.raises(InvalidParameterError, match=r"parts\[1\].*missing \['end'\]"):
        plot_split_timeline([PARTS[0], {"name": "val", "start": 3}])
    with pytest.raises(InvalidParameterError, match="gaps"):
        plot_split_timeline(PARTS, [(1, 2, 3)])


def test_feature_distributions_dataframe_and_arrays(tmp_path, rng):
    raw = pd.DataFrame({"temp_C": rng.normal(12, 4, 300), "wind_mps": rng.gamma(2, 2, 300), "site": "a"})
    scaled = (raw[["temp_C", "wind_mps"]] - raw[["temp_C", "wind_mps"]].mean()) / raw[["temp_C", "wind_mps"]].std()
    fig = plot_feature_distributions(raw, scaled.to_numpy(), path=tmp_path / "dist.png")
    assert _is_png(tmp_path / "dist.png")
    assert fig.axes[0].get_ylabel() == "temp_C"
    windows = rng.normal(size=(20, 5, 12))
    fig = plot_feature_distributions(windows, windows, max_features=3)
    assert "first 3 of 12 features" in fig._suptitle.get_text()
    with pytest.raises(ShapeError, match="2 features but `scaled` has 3"):
        plot_feature_distributions(rng.normal(size=(9, 2)), rng.normal(size=(9, 3)))


def test_example_windows_regression_and_classification(tmp_path, rng):
    X, y = rng.normal(size=(40, 12, 2)), rng.normal(size=40)
    fig = plot_example_windows(X, y, ["load", "temp"], n=3, target_index=0, path=tmp_path / "win.png")
    assert _is_png(tmp_path / "win.png") and len(fig.axes) == 3
    assert fig.legends[0].get_texts()[0].get_text() == "load (target feature)"
    with pytest.raises(InvalidParameterError, match="2 feature names"):
        plot_example_windows(X, y, ["load"])
    fig = plot_example_windows(X, rng.normal(size=(40, 3)), n=2, horizon=2)
    assert len(fig.axes) == 2
    fig = plot_example_windows(X, rng.integers(0, 2, 40), task="classification", indices=[0, 5])
    assert fig.axes[0].get_title(loc="left").startswith("case 0: class")
    # padded cases: the padding is not drawn (NaN in the line), each title gives the valid steps
    lengths = np.full(40, 12)
    lengths[5] = 7
    fig = plot_example_windows(X, rng.integers(0, 2, 40), task="classification", indices=[0, 5], lengths=lengths)
    drawn = fig.axes[1].get_lines()[0].get_ydata()
    assert np.isfinite(drawn[:7]).all() and np.isnan(drawn[7:]).all()
    assert fig.axes[1].get_title(loc="left").endswith("7 valid steps")
    assert np.isfinite(X).all()  # the caller's windows are untouched
    with pytest.raises(ShapeError, match="one length per window"):
        plot_example_windows(X, y, lengths=[3])
    with pytest.raises(ShapeError, match="40 windows but `y` has 3"):
        plot_example_windows(X, y[:3])


def test_learning_curves_without_validation_say_so():
    history = [{"epoch": e, "train_loss": 1 / e, "lr": 1e-3} for e in range(1, 6)]
    fig = plot_learning_curves(history, metric_name="accuracy", best_epoch=4)
    middle = fig.axes[1]
    assert not middle.axison and not middle.get_lines()
    assert "lowest" in " ".join(t.get_text() for t in middle.texts)


def test_learning_curves_from_history_and_result(tmp_path):
    fig = plot_learning_curves(HISTORY, metric_name="mae", best_epoch=5, path=tmp_path / "curves.png")
    assert _is_png(tmp_path / "curves.png") and len(fig.axes) == 3
    assert fig.axes[1].get_ylabel() == "validation mae"

    class Result:  # duck-typed TrainResult
        history = HISTORY
        metric_name = "accuracy"
        best_epoch = 3

    assert plot_learning_curves(Result()).axes[1].get_ylabel() == "validation accuracy"
    with pytest.raises(InvalidParameterError, match="history"):
        plot_learning_curves([])


def test_predictions_and_confusion_matrix(tmp_path, rng):
    y = np.sin(np.arange(200) / 5)
    fig = plot_predictions(
        None, y, y + 0.05, {"persistence": np.roll(y, 1)}, ylabel="load (MW)", path=tmp_path / "pred.png"
    )
    assert _is_png(tmp_path / "pred.png")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[1] == "model (MAE 0.050)" and legend[2].startswith("persistence (MAE")  # one rounding rule
    plot_predictions(np.arange(200), np.c_[y, y], np.c_[y, y], step=1, max_points=50)
    with pytest.raises(ShapeError, match="`persistence` predictions"):
        plot_predictions(None, y, y, {"persistence": y[:-1]})
    cm = np.array([[5, 1], [2, 7]])
    fig = plot_confusion_matrix(cm, ["calm", "storm"], path=tmp_path / "cm.png")
    assert _is_png(tmp_path / "cm.png")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["1", "2", "5", "7"]
    plot_confusion_matrix(cm, normalize=True)
    with pytest.raises(ShapeError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)))


def test_html_report_is_self_contained(tmp_path):
    fig = plot_split_timeline(PARTS, GAPS)
    png = save_figure(fig, tmp_path / "fig.png")
    table = {"model": {"mae": 0.12345, "n": 1000}, "persistence": {"mae": float("nan")}}
    out = write_html_report(
        tmp_path / "sub" / "report.html",
        "Run <1>",
        [
            {"title": "Split", "text": "first para\n\nsecond & last", "figures": [fig, png]},
            {"title": "Rows", "table": [{"name": "a", "value": 1.5}], "figure": png.read_bytes()},
            {"title": "Frame", "table": pd.DataFrame({"mae": [0.5]}, index=["ridge"])},
            {"title": "Results", "table": table},
        ],
    )
    text = out.read_text(encoding="utf-8")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(PNG_MAGIC) for i in images)
    assert "<title>Run &lt;1&gt;</title>" in text and "<p>second &amp; last</p>" in text
    assert "<td>0.1235</td>" in text and "<td>1,000</td>" in text and "&ndash;" in text
    assert "<td>ridge</td><td>0.5</td>" in text
    assert "http" not in text.replace("http-equiv", "")  # nothing fetched from outside
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary files left
    with pytest.raises(InvalidParameterError, match="table"):
        write_html_report(tmp_path / "bad.html", "x", [{"table": 3}])


def test_build_run_report_regression(tmp_path, rng):
    X, y = rng.normal(size=(30, 8, 2)), rng.normal(size=30)
    out = build_run_report(
        tmp_path / "run",
        notes="toy run",
        split_parts=PARTS,
        gaps=GAPS,
        raw=rng.normal(5, 2, size=(100, 2)),
        scaled=rng.normal(size=(100, 2)),
        feature_names=["a", "b"],
        X=X,
        y=y,
        target_index=1,
        history=HISTORY,
        y_true=y,
        y_pred=y + 0.1,
        baselines={"persistence": X[:, -1, 0]},
        target_label="load (MW)",
    )
    assert out == tmp_path / "run" / "report.html"
    pngs = sorted(p.name for p in (tmp_path / "run" / "report").iterdir())
    assert pngs == [
        "example_windows.png",
        "feature_distributions.png",
        "learning_curves.png",
        "predictions.png",
        "split_timeline.png",
    ]
    text = out.read_text()
    assert text.count("data:image/png;base64,") == 5
    assert "<td>persistence</td>" in text and "sMAPE (%)<small>lower is better</small>" in text
    assert "MAE (original units)<small>lower is better</small>" in text
    assert 'class="best">' in text and "generated by seqprep " in text


def test_run_report_says_when_a_baseline_wins_and_shows_the_run(tmp_path, rng):
    from seqprep.runs.verdict import compare_to_baselines

    results = {"cnn_lstm": {"mae": 0.2451, "rmse": 0.3}, "ridge": {"mae": 0.0581, "rmse": 0.07},
               "persistence": {"mae": 0.31, "rmse": 0.4}}
    verdict = compare_to_baselines("regression", results, units="°C")
    assert verdict["summary"] == "ridge beats the CNN-LSTM: MAE 0.058 °C vs 0.245 °C."
    assert verdict["beaten_by"] == ["ridge"] and not verdict["model_wins"]
    y = rng.normal(size=20)
    out = build_run_report(
        tmp_path, title="sales.csv: forecast units_sold", y_true=y, y_pred=y, results=results, units="°C",
        verdict=verdict, data_check={"findings": [{"severity": "warning", "code": "GAPS", "title": "3 gaps"}],
                                     "scales": {"message": "one scale"}},
        config={"target": "units_sold", "lookback": 14}, split_parts=[{"name": "train", "start": 1821, "end": 1900},
                                                                      {"name": "test", "start": 1901, "end": 1934}],
        time_label="year",
    )
    text = out.read_text()
    assert "<title>sales.csv: forecast units_sold</title>" in text
    assert "ridge beats the CNN-LSTM: MAE 0.058 °C vs 0.245 °C." in text and 'class="verdict loses"' in text
    assert "MAE (°C)<small>lower is better</small>" in text
    assert '<td class="best">0.058 &#9733;</td>' in text and "<td>0.245</td>" in text
    assert "GAPS" in text and "3 gaps" in text and "<td>lookback</td><td>14</td>" in text


def test_split_timeline_integer_and_period_axes():
    import pandas as pd

    years = [{"name": "train", "start": 1821, "end": 1900}, {"name": "test", "start": 1901, "end": 1934}]
    fig = plot_split_timeline(years, xlabel="year")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "year" and 1800 < ax.get_xlim()[0] < 1821 and ax.get_xlim()[1] > 1934
    q = pd.period_range("1970Q1", periods=40, freq="Q")
    fig = plot_split_timeline([{"name": "train", "start": q[0], "end": q[29]},
                               {"name": "test", "start": q[30], "end": q[39]}])
    assert fig.axes[0].get_xlabel() == "time"


def test_build_run_report_classification(tmp_path, rng):
    y = rng.integers(0, 3, 50)
    logits = np.eye(3)[y] + rng.normal(scale=0.4, size=(50, 3))
    out = build_run_report(
        tmp_path, task="classification", y_true=y, y_pred=logits, baselines={"majority": np.zeros(50, int)}
    )
    assert (tmp_path / "report" / "confusion_matrix.png").stat().st_size > 1000
    assert "balanced accuracy<small>higher is better</small>" in out.read_text()


def test_import_does_not_pull_matplotlib():
    code = "import sys, seqprep.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plotting_does_not_touch_pyplot():
    code = (
        "import sys, numpy as np; from seqprep.report import plot_confusion_matrix; "
        "plot_confusion_matrix(np.eye(2)); print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_learning_curves_of_an_ensemble_draw_every_member(tmp_path):
    from seqprep.training import TrainResult

    def result(offset: float) -> TrainResult:
        hist = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e + offset, "val_metric": 0.5 + offset,
                 "lr": 1e-3} for e in range(1, 6)]
        return TrainResult(hist, 5, hist[-1]["val_loss"], False, 1.0, "accuracy", "cpu")

    fig = plot_learning_curves([result(0.0), result(0.1), result(0.2)], path=tmp_path / "lc.png")
    assert "ensemble of 3" in fig._suptitle.get_text()
    ax_loss, ax_metric = fig.axes[0], fig.axes[1]
    # member 1: train + validation loss; members 2-3: one validation line each
    assert len(ax_loss.get_lines()) - 1 == 2 + 2  # minus the best-epoch marker
    assert len(ax_metric.get_lines()) - 1 == 1 + 2
    np.testing.assert_allclose(ax_metric.get_lines()[2].get_ydata(), 0.7)
    assert (tmp_path / "lc.png").stat().st_size > 1000


def test_prediction_plot_of_a_panel_never_joins_two_series():
    """M1-like panel: each drawn line holds one series' windows; the biggest series are drawn, MAE over all."""
    keys = np.array(["a"] * 3 + ["b"] * 6 + ["c"] * 4 + ["d"] * 2)
    time = np.r_[np.arange(3), np.arange(6), np.arange(4), np.arange(2)]
    level = {"a": 1.0, "b": 1000.0, "c": 50.0, "d": 7.0}
    y = np.array([level[k] for k in keys]) + time
    fig = plot_predictions(time, y, y + 1, {"persistence": y - 2}, series=keys, max_series=2)
    ax = fig.axes[0]
    assert "of 2 of 4 series ('b', 'c')" in ax.get_title()
    lines = [line for line in ax.get_lines() if len(line.get_xdata())]
    assert len(lines) == 2 * 3  # two series x (actual, model, persistence)
    for line in lines:
        values = np.asarray(line.get_ydata()) - np.asarray(line.get_xdata())
        assert np.ptp(values) == 0  # one series' level throughout: no line crosses into another series
    assert "model (MAE 1.000) persistence (MAE 2.000)" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(ShapeError):
        plot_predictions(time, y, y, series=keys[:-1])
