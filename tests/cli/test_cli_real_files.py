"""seqprep check, train, evaluate and predict on a public data set of each kind of time axis and file format.

Runs are tiny (one epoch, a small network, the CPU): they check that the path works end to end,
not the scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data"

TINY = """
epochs = 1
batch_size = 32
[model]
conv_channels = [8]
kernel_size = 3
lstm_hidden = 8
"""

# (file, time column, target, extra options, frequency in the output, a time as the split prints it)
FORECAST = {
    "monthly": ("airline/Airline.csv", "Date", "Passengers", [], "MS (monthly, month start)", "1960-12"),
    "monthly-text": ("pbs/PBS_dataset.csv", "Month", "Scripts", [], "MS (monthly, month start)", "2008-06"),
    "month-end": ("r_economics/economics.csv", "date", "unemploy", [], "ME (monthly, month end)", "2007-03"),
    "quarterly": ("uschange/Uschange.csv", "Quarter", "Consumption", [], "QS-JAN (quarterly", "2016Q3"),
    "quarterly-bom": ("sm_danish_data/danish_data.csv", "period", "lrm", [], "QS-JAN (quarterly", "1987Q3"),
    "yearly": ("sm_nile/nile.csv", "year", "volume", [], "1 (numeric time axis)", "1970"),
    "yearly-unnamed": ("lynx/Lynx.csv", "Unnamed: 0", "0", [], "1 (numeric time axis)", "1934"),
    "weekly": ("sm_co2/co2.csv", "date", "co2", ["--nan-policy", "interpolate"], "W-SAT (weekly)", "2001-12-29"),
    "business-day": ("river_sp500/sp500.csv", "date", "AAPL", ["--features", "AAPL,MSFT"], "B (business days)",
                     "2014-04-21"),
    "hourly": ("vega_seattle_temps/seattle-temps.csv", "date", "temp", [], "h (hourly)", "2010-12-31 23:00:00"),
}


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("kind", sorted(FORECAST))
def test_check_shows_the_frequency_and_agrees_with_training(kind):
    file, time, target, extra, words, _ = FORECAST[kind]
    result = _invoke("check", str(DATA / file), "--time", time, "--target", target, "--lookback", "6",
                     "--json", *extra)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    codes = {f["code"]: f for f in report["findings"]}
    assert words in codes["TIME_AXIS"]["title"]
    assert "TRAINING_DATA" in codes and "REFUSED" not in codes


def test_check_reports_what_training_refuses_in_the_same_words(tmp_path):
    df = pd.read_csv(DATA / "sm_co2" / "co2.csv")  # weekly, with empty fields
    result = _invoke("check", str(DATA / "sm_co2" / "co2.csv"), "--time", "date", "--target", "co2", "--json")
    assert result.exit_code == 1
    refused = [f for f in json.loads(result.output)["findings"] if f["code"] == "REFUSED"][0]
    train = CliRunner().invoke(cli, ["train", str(DATA / "sm_co2" / "co2.csv"), "--time", "date", "--target", "co2",
                                     "--out", str(tmp_path / "r")])
    assert train.exit_code != 0
    assert str(train.exception) in refused["title"]
    assert int(df["co2"].isna().sum()) == 59
    # a gap every candidate window spans: check says so before train does, and --allow-gaps lifts it
    t = pd.date_range("2000-01-01", periods=40, freq="MS").delete(list(range(4, 40, 5)))
    path = tmp_path / "gappy.csv"
    pd.DataFrame({"month": t.strftime("%Y-%m"), "y": range(len(t))}).to_csv(path, index=False)
    out = _invoke("check", str(path), "--time", "month", "--target", "y", "--lookback", "6", "--json")
    codes = [f["code"] for f in json.loads(out.output)["findings"]]
    assert out.exit_code == 1 and "REFUSED" in codes and "TIME_GAPS" in codes
    ok = _invoke("check", str(path), "--time", "month", "--target", "y", "--lookback", "6", "--allow-gaps", "--json")
    assert ok.exit_code == 0, ok.output


def test_check_leaves_an_index_column_out_and_says_so():
    result = _invoke("check", str(DATA / "uschange" / "Uschange.csv"), "--time", "Quarter", "--target", "Consumption",
                     "--json")
    findings = {f["code"]: f for f in json.loads(result.output)["findings"]}
    assert findings["INDEX_COLUMN"]["evidence"]["columns"] == ["Unnamed: 0"]
    assert "Unnamed: 0" not in findings["TRAINING_DATA"]["evidence"]["inputs"]


@pytest.mark.parametrize("kind", ["monthly", "quarterly", "yearly", "weekly", "business-day", "hourly"])
def test_train_evaluate_predict_with_the_time_column(kind, tmp_path):
    file, time, target, extra, words, last = FORECAST[kind]
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(DATA / file), "--time", time, "--target", target, "--lookback", "6",
                     "--device", "cpu", "--config", str(config), "--out", str(run), *extra)
    assert result.exit_code == 0, result.output
    assert words in result.output and last in result.output
    assert "1970-01-01" not in result.output
    saved = json.loads((run / "run.json").read_text())
    assert saved["time_axis"]["frequency"].startswith(words.split(" (")[0])
    assert _invoke("evaluate", str(run)).exit_code == 0
    pred = tmp_path / "pred.csv"
    out = _invoke("predict", str(run), "--data", str(DATA / file), "--out", str(pred))
    assert out.exit_code == 0, out.output
    table = pd.read_csv(pred)
    assert len(table) > 0 and str(table["prediction_time"].iloc[-1]).startswith(
        {"monthly": "1961-01", "quarterly": "2016-10", "yearly": "1971", "weekly": "2002-01-05",
         "business-day": "2014-04-18",
         "hourly": "2011-01-01"}[kind])


@pytest.mark.parametrize(
    ("train", "test", "task"),
    [
        ("ucr_coffee/Coffee_TRAIN.txt", "ucr_coffee/Coffee_TEST.txt", "classification"),
        ("ucr_arrowhead/ArrowHead_TRAIN.tsv", "ucr_arrowhead/ArrowHead_TRAIN.arff", "classification"),
        ("uea_basicmotions/BasicMotions_TRAIN.arff", "uea_basicmotions/BasicMotions_TEST.arff", "classification"),
        ("reg_covid3month/Covid3Month_TRAIN.ts", "reg_covid3month/Covid3Month_TEST.ts", "regression"),
    ],
)
def test_train_and_evaluate_archive_formats(train, test, task, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", "--train", str(DATA / train), "--test", str(DATA / test), "--device", "cpu",
                     "--config", str(config), "--out", str(run))
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "metrics.json").read_text())
    metrics = saved["test"]
    # every kind of run says in words whether a baseline beats the network (regression on cases too)
    assert saved["summary"] and saved["summary"].split(":")[0] in " ".join(result.output.split())
    key = "mae" if task == "regression" else "accuracy"
    beaten = sorted(k for k, v in metrics.items() if k != "cnn_lstm" and (
        v[key] < metrics["cnn_lstm"][key] if key == "mae" else v[key] > metrics["cnn_lstm"][key]))
    # the verdict compares at the printed precision: a baseline ahead by less than that is a tie
    assert set(saved["verdict"]["beaten_by"]) <= set(beaten) <= set(saved["verdict"]["beaten_by"] +
                                                                     saved["verdict"]["ties"])
    if task == "regression":
        assert set(metrics) == {"cnn_lstm", "mean_of_training_targets", "ridge", "nearest_neighbour_1", "minirocket"}
        assert set(metrics["cnn_lstm"]) == {"mae", "rmse", "smape"}
        assert "regression" in result.output
    else:
        assert set(metrics) == {"cnn_lstm", "majority_class", "nearest_neighbour_1", "minirocket"}
        assert "accuracy" in metrics["cnn_lstm"]
    ev = _invoke("evaluate", str(run))
    assert ev.exit_code == 0 and "matches" in ev.output


def test_train_without_time_and_target_takes_the_only_date_and_numeric_columns(tmp_path):
    """PBS (a 'Month' column of '1991 Jul' strings beside one numeric column): no --time, no --target."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(DATA / "pbs" / "PBS_dataset.csv"), "--lookback", "6", "--device", "cpu",
                     "--config", str(config), "--out", str(run))
    assert result.exit_code == 0, result.output
    assert "time axis: 'Month'" in result.output and "target: 'Scripts'" in result.output
    saved = json.loads((run / "run.json").read_text())
    assert saved["time"] == "Month" and saved["target"] == "Scripts"
    assert saved["time_axis"]["frequency"].startswith("MS")
    pred = tmp_path / "pred.csv"
    out = _invoke("predict", str(run), "--data", str(DATA / "pbs" / "PBS_dataset.csv"), "--out", str(pred))
    assert out.exit_code == 0, out.output
    assert str(pd.read_csv(pred)["prediction_time"].iloc[-1]).startswith("2008-07")


def test_a_saved_datetime_index_is_the_time_axis_and_two_numeric_columns_need_a_target(tmp_path):
    """``DataFrame.to_csv`` writes a DatetimeIndex as an unnamed first column: it is the time, not a row index."""
    frame = pd.read_csv(DATA / "airline" / "Airline.csv", parse_dates=["Date"]).set_index("Date")
    frame["promo"] = (frame.index.month == 12).astype(float)
    file = tmp_path / "saved.csv"
    frame.rename_axis(None).to_csv(file)
    assert pd.read_csv(file).columns[0] == "Unnamed: 0"
    result = _invoke("train", str(file), "--device", "cpu", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "--target" in line and "'Passengers', 'promo'" in line
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    ok = _invoke("train", str(file), "--target", "Passengers", "--lookback", "6", "--device", "cpu",
                 "--config", str(config), "--out", str(tmp_path / "run"))
    assert ok.exit_code == 0, ok.output
    saved = json.loads((tmp_path / "run" / "run.json").read_text())
    assert saved["time"] == "Unnamed: 0" and saved["time_axis"]["frequency"].startswith("MS")
    assert saved["index_columns_left_out"] == []


def test_a_column_constant_in_training_is_named_in_one_warning_line(tmp_path):
    """seatbelts' law indicator is 0 until the test part: the console script says so in one line, by name."""
    import subprocess
    import sys

    frame = pd.read_csv(DATA / "airline" / "Airline.csv")
    frame["law"] = 0.0
    frame.loc[frame.index[-20:], "law"] = 1.0
    file = tmp_path / "law.csv"
    frame.to_csv(file, index=False)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    # a subprocess: pytest records warnings itself, so only a real run shows what the user sees
    done = subprocess.run([sys.executable, "-m", "seqprep", "train", str(file), "--target", "Passengers",
                           "--lookback", "6", "--device", "cpu", "--config", str(config),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "constant in the training rows" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "'law'" in lines[0], done.stderr
    assert ".py:" not in lines[0]


def test_series_names_like_t1_are_not_taken_for_a_time_axis():
    """pandas parses 'T1' as a time of today: a column of series names must not become the time axis."""
    from seqprep.cli._options import infer_time

    frame = pd.DataFrame({"id": ["T1", "T1", "T2", "T2"], "month": ["1991 Jul", "1991 Aug"] * 2, "y": [1.0] * 4})
    assert infer_time(frame, None) == "month"
    assert infer_time(frame[["id", "y"]], None) is None
    assert infer_time(frame.assign(month=pd.to_datetime(["1991-07-01", "1991-08-01"] * 2)), "id") == "month"


def test_check_gives_a_panels_whole_span_and_its_series_count():
    """M1 yearly: the first row is one series' start, the last another's end; the span is 1865-2033."""
    result = _invoke("check", str(DATA / "monash_tsf" / "m1_yearly_dataset.tsf"), "--json")
    axis = {f["code"]: f for f in json.loads(result.output)["findings"]}["TIME_AXIS"]
    assert "181 series from 1865 to 2033" in axis["title"]
    assert (axis["evidence"]["first"], axis["evidence"]["last"]) == ("1865", "2033")


@pytest.mark.parametrize(("file", "options", "period"), [
    ("airline/Airline.csv", [], 12),
    ("uschange/Uschange.csv", ["--target", "Consumption"], 4),
    ("sm_nile/nile.csv", ["--time", "year", "--target", "volume"], None),
    ("vega_seattle_temps/seattle-temps.csv", [], 24),  # a fixed step (hourly): its season counted in steps
    ("airline/Airline.csv", ["--period", "3"], 3),
])
def test_train_gives_the_seasonal_naive_baseline_the_season_of_its_step(file, options, period, tmp_path):
    """Without --period the season comes from the inferred step (monthly 12, quarterly 4; a year of years: none)."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    run = tmp_path / "run"
    result = _invoke("train", str(DATA / file), *options, "--lookback", "6", "--device", "cpu",
                     "--config", str(config), "--out", str(run))
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "run.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())["test"]
    assert saved["period"] == period
    assert ("seasonal_naive" in metrics) is (period is not None)
    if "--period" not in options:
        assert ("seasonal-naive baseline: period" if period else "seasonal-naive baseline: none") in result.output


def test_run_forecast_period_auto_and_bad_values():
    from seqprep.exceptions import InvalidParameterError
    from seqprep.runs import run_forecast
    from seqprep.runs._forecast import seasonal_period

    assert [seasonal_period(f) for f in ("10min", "4s", "3h", "2MS", "5h", "W-SAT", "ME", "min")] == \
        [144, 21600, 8, 6, None, 52, 12, 1440]
    frame = pd.read_csv(DATA / "airline" / "Airline.csv")
    for bad in ("monthly", 0, 2.5, True):
        with pytest.raises(InvalidParameterError, match="period"):
            run_forecast(frame, target="Passengers", time="Date", period=bad, progress=False,
                         train_config={"epochs": 1})


def test_train_lookback_is_two_seasons_unless_the_data_are_too_short(tmp_path):
    """Monthly airline: 24 steps; its first 40 months: 24 would leave too few training windows, so 14, said."""
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    full = _invoke("train", str(DATA / "airline" / "Airline.csv"), "--device", "cpu", "--config", str(config),
                   "--out", str(tmp_path / "full"))
    assert full.exit_code == 0, full.output
    assert json.loads((tmp_path / "full" / "run.json").read_text())["lookback"] == 24
    assert "lookback: 24 steps" in full.output
    short_file = tmp_path / "short.csv"
    pd.read_csv(DATA / "airline" / "Airline.csv").head(40).to_csv(short_file, index=False)
    short = _invoke("train", str(short_file), "--device", "cpu", "--config", str(config),
                    "--out", str(tmp_path / "short"))
    assert short.exit_code == 0, short.output
    assert json.loads((tmp_path / "short" / "run.json").read_text())["lookback"] == 14
    assert "fewer than the lookback" in " ".join(short.output.split())
    given = _invoke("train", str(DATA / "airline" / "Airline.csv"), "--lookback", "6", "--device", "cpu",
                    "--config", str(config), "--out", str(tmp_path / "given"))
    assert given.exit_code == 0 and "lookback: " not in given.output
    assert json.loads((tmp_path / "given" / "run.json").read_text())["lookback"] == 6


def test_run_forecast_lookback_auto_and_bad_values():
    from seqprep.exceptions import InvalidParameterError
    from seqprep.runs import run_forecast
    from seqprep.runs._forecast import auto_lookback, step_alias

    frame = pd.read_csv(DATA / "uschange" / "Uschange.csv")
    assert step_alias(frame, "Quarter", None).startswith("QS") and auto_lookback("QS-JAN") == 14
    assert step_alias(frame, None, None) is None and step_alias(frame.assign(t=range(len(frame))), "t", None) is None
    for bad in ("two seasons", 0, 2.5):
        with pytest.raises(InvalidParameterError, match="lookback"):
            run_forecast(frame, target="Consumption", time="Quarter", lookback=bad, progress=False,
                         train_config={"epochs": 1})


def test_check_resolves_the_lookback_as_train_does():
    result = _invoke("check", str(DATA / "airline" / "Airline.csv"), "--target", "Passengers", "--json")
    findings = {f["code"]: f for f in json.loads(result.output)["findings"]}
    assert findings["TRAINING_DATA"]["evidence"]["lookback"] == 24
    given = _invoke("check", str(DATA / "airline" / "Airline.csv"), "--target", "Passengers", "--lookback", "6",
                    "--json")
    assert {f["code"]: f for f in json.loads(given.output)["findings"]}["TRAINING_DATA"]["evidence"]["lookback"] == 6


def test_a_parquet_file_with_its_datetime_index_gets_the_same_lookback_and_season(tmp_path):
    """to_parquet keeps a DatetimeIndex as the index, not a column: it is still the monthly time axis."""
    frame = pd.read_csv(DATA / "airline" / "Airline.csv", parse_dates=["Date"]).set_index("Date")
    file = tmp_path / "airline.parquet"
    frame.to_parquet(file)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    result = _invoke("train", str(file), "--device", "cpu", "--config", str(config), "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "r" / "run.json").read_text())
    assert (saved["lookback"], saved["period"]) == (24, 12)
