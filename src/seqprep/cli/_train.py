"""``seqprep demo``, ``train``, ``evaluate`` and ``predict``: training runs from the command line.

Bad input raises a :class:`~seqprep.exceptions.SeqprepError`; ``seqprep.cli.main`` prints it as
one line and exits with code 2.
"""

from __future__ import annotations

import datetime as _dt
import time as _time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import tomllib

from .._validation import check_float, check_int
from ..exceptions import ArtifactError, DataError, InvalidParameterError
from ..io import NAN_POLICIES, check_out_dir, check_out_file
from ..timeaxis import format_time
from ._options import INT64

__all__ = ["demo", "evaluate", "predict", "train"]

DEMO_FEATURES = ["precipitation", "temp_max", "temp_min", "wind"]
DEMO_TARGET = "temp_max"
DEMO_LOOKBACK = 14
DEMO_GAP = 1


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _metrics_table(metrics: Mapping[str, Mapping[str, float]], title: str, units: str = "",
                   network: str = "CNN-LSTM") -> Any:
    from rich.table import Table

    from ..runs.verdict import best_per_metric, format_metric, higher_is_better, metric_label, metric_unit, model_label

    names = list(next(iter(metrics.values())).keys()) if metrics else []
    table = Table(title=title)
    table.add_column("model")
    for n in names:
        unit = metric_unit(n, units)
        better = "higher" if higher_is_better(n) else "lower"
        table.add_column(f"{metric_label(n)}{f' ({unit})' if unit else ''}\n{better} is better", justify="right")
    best = best_per_metric(metrics)
    for model, vals in metrics.items():
        cells = []
        for n in names:
            text = format_metric(vals[n])
            cells.append(f"[bold green]{text} *[/]" if model in best[n] else text)
        table.add_row(network if model == "cnn_lstm" else model_label(model), *cells)
    table.caption = "* best in its column (3 decimals, same test windows)"
    return table


def _print_verdict(console: Any, verdict: Mapping[str, Any] | None) -> None:
    """The honest summary in plain words: which baseline beats the network, or that none does."""
    if not verdict:
        return
    colour = "green" if verdict.get("model_wins") else "bold yellow"
    for line in verdict.get("lines", [verdict.get("summary", "")]):
        console.print(f"  [{colour}]{line}[/]")


def _unique_default_dir(base: Path) -> Path:
    """``base`` if it is free, else ``base-YYYYmmdd-HHMMSS`` (then ``-2``, ``-3``, ...)."""
    if not base.exists() or (base.is_dir() and not any(base.iterdir())):
        return base
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = base.with_name(f"{base.name}-{stamp}")
    k = 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{stamp}-{k}")
        k += 1
    return candidate


def _printer(console: Any) -> Any:
    """``on_step`` callback of run_forecast that narrates each step."""
    from rich.markup import escape

    def step(name: str, info: dict[str, Any]) -> None:
        if name == "check":
            console.rule("[bold]1. Data check")
            for f in info["findings"]:
                console.print(escape(f"  [{f.get('severity', '')}] {f.get('code', '')}: {f.get('title', '')}"))
            scales = info["scales"]
            for col, s in scales["columns"].items():
                console.print(
                    f"  {col:<13} median {s['median']:>6.2f} IQR {s['iqr']:>6.2f} mean|x| {s['mean_abs']:>6.2f} "
                    f"max {s['max_abs']:>6.2f} zeros {s['zero_share']:>4.0%}"
                )
            colour = "yellow" if scales["disparate"] else "green"
            console.print(f"  [{colour}]Scale check: {scales['message']}[/]")
        elif name == "split":
            console.rule("[bold]2. Chronological split (time order kept, no shuffling)")
            d = info["describe"]
            axis = info.get("time_axis", {})
            if axis.get("frequency"):
                console.print(f"  time axis: {axis.get('time_kind', '')} values, frequency {axis['frequency']}"
                              + (f"; {axis['gaps']} gap(s) ({axis.get('missing_steps', 0)} missing steps): no window "
                                 "spans one" if axis.get("gaps") else ""))
            for part, row in d.iterrows():
                rows = info["rows"].get(part, {}).get("rows", "?")
                t0, t1 = row.get("first_target_time"), row.get("last_target_time")
                when = (f"{format_time(t0, axis.get('freq'), axis.get('timezone'))} .. "
                        f"{format_time(t1, axis.get('freq'), axis.get('timezone'))}") if _has_value(t0) else ""
                console.print(f"  {part:<5} {rows:>5} target rows  {int(row['windows']):>5} windows  {when}")
            if info.get("lookback_inferred"):
                console.print(f"  lookback: {info['lookback']} steps (two seasons of the time axis's step, at least "
                              "14; --lookback sets another)" + (f"; {info['lookback_fallback']}, so 14"
                                                                 if info.get("lookback_fallback") else ""))
            if info.get("period_inferred"):
                console.print(f"  seasonal-naive baseline: period {info['period']} rows (the season of the time "
                              "axis's step; --period sets another)" if info.get("period") else
                              "  seasonal-naive baseline: none (no season for this time axis; --period sets one)")
            console.print(
                f"  gap: {info['gap']} row(s) left out between consecutive parts (purge); "
                f"context={info['context']!r}: val/test inputs may read earlier history, never later rows."
            )
        elif name == "scaler":
            console.rule("[bold]3. Scaling (statistics from the training rows only)")
            per_series = info.get("scale_per") == "series"
            console.print(
                f"  {info['kind']} scaler{' per series' if per_series else ''} fit on {info['train_rows']} training "
                f"rows of {info['all_rows']}"
                + (f", each of the {info['n_series']} series scaled by its own training rows" if per_series else "")
                + " (validation and test rows never touch a statistic)."
            )
            for col in list(info.get("series_center", {}))[:3]:
                (c0, c1, c2), (s0, s1, s2) = info["series_center"][col], info["series_scale"][col]
                console.print(f"  {col:<14} series' centres {c0:.4g} .. {c2:.4g} (median {c1:.4g}); "
                              f"scales {s0:.4g} .. {s2:.4g} (median {s1:.4g})")
            for col in list(info.get("mean", {}))[:3]:
                console.print(f"  {col:<14} train mean {info['mean'][col]:>7.3f}  train std {info['std'][col]:>7.3f}")
        elif name == "windows":
            console.rule("[bold]4. Windows (N, T, C) -> y")
            for part in ("train", "val", "test"):
                xs, ys = info[part]
                console.print(f"  {part:<5} X {tuple(xs)}  y {tuple(ys)}")
            console.print(f"  inputs: {', '.join(info['inputs'])}")
            console.rule("[bold]5. Training the CNN-LSTM (early stopping on val)")

    return step


def _has_value(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and value is not pd.NaT


def _print_results(console: Any, res: Any, units: str = "") -> None:
    h = res.history
    config = getattr(res, "config", None) or {}
    if config.get("model_type") == "minirocket":  # fitted in closed form: no epochs to report
        console.print(f"  MiniRocket + ridge fitted in closed form in {h.seconds:.1f} s (ridge alpha "
                      f"{config['train']['alpha']:.3g}, chosen by leave-one-out error).")
    else:
        if np.isfinite(h.best_val):
            best = f"best epoch {h.best_epoch} (val loss {h.best_val:.4g})"
        else:  # no validation cases (the classification default): the weights of the lowest training loss
            rows = [r for r in h.history if r.get("epoch") == h.best_epoch]
            loss = rows[0].get("train_loss") if rows else None
            best = f"kept epoch {h.best_epoch}" + (f" (lowest training loss {loss:.4f})" if loss is not None else "")
        early = "; stopped early" if h.stopped_early else ""
        console.print(f"  {len(h.history)} epoch(s) in {h.seconds:.1f} s; {best}{early}.")
    decision = (getattr(res, "config", None) or {}).get("ridge_path")
    if decision:  # which model the validation windows kept (docs/results.md 4.3, 4.11)
        maes = [("persistence", decision.get("val_mae_persistence")),
                ("seasonal naive", decision.get("val_mae_seasonal_naive")), ("ridge", decision.get("val_mae_ridge")),
                ("ridge + network", decision.get("val_mae_network_plus_ridge"))]
        shown = ", ".join(f"{k} {v:.4f}" for k, v in maes if v is not None)
        console.print(f"  validation chose: {decision['kept'].replace('+', ' + ')} "
                      f"(validation MAE, {decision.get('units', 'scaled')}: {shown}; the simplest wins a tie).")
    console.rule("[bold]6. Results on the test part (same windows for every model)")
    units = units or res.info.get("units", "") or ("target units" if res.task == "regression" else "")
    console.print(_metrics_table(res.metrics, "Test scores", units, (res.info.get("verdict") or {}).get("name",
                                                                                                      "CNN-LSTM")))
    from ..runs.verdict import model_label

    for name, why in res.info.get("skipped", {}).items():
        console.print(f"  {model_label(name)} skipped: {why}.")
    for name, note in res.info.get("notes", {}).items():
        console.print(f"  {model_label(name)}: {note}.")
    _print_verdict(console, res.info.get("verdict"))


# ============================================================================ demo
def _calendar(console: Any) -> list[Any]:
    from ..runs import default_derived_features

    derived = default_derived_features()
    if derived:
        console.print("  + calendar day-of-year features (seqprep.features.Calendar)")
    return derived


@click.command("demo")
@click.option("--out", "out", type=click.Path(), default=None,
              help="Run directory (default runs/demo, or runs/demo-<timestamp> if that exists).")
@click.option("--epochs", type=click.IntRange(1, 1000), default=60, show_default=True, help="Maximum epochs.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True)
@click.option("--show-leakage", is_flag=True, help="Also score two classic leaky pipelines and compare.")
@click.option("--overwrite/--no-overwrite", default=False, show_default=True,
              help="Replace an existing --out directory.")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="torch threads for training [automatic: 1 for this small model].")
def demo(out: str | None, epochs: int, seed: int, show_leakage: bool, overwrite: bool, threads: int | None) -> None:
    """Forecast tomorrow's temp_max in Seattle with a CNN-LSTM, leak-free, against baselines."""
    from ..datasets import load_weather
    from ..runs import run_forecast

    if out is not None:
        check_out_dir(out)
    started = _time.perf_counter()
    console = _console()
    df = load_weather()
    console.print(
        f"[bold]seqprep demo[/]: Seattle weather {df['date'].min().date()} .. {df['date'].max().date()}, "
        f"{len(df)} days. Task: predict tomorrow's {DEMO_TARGET} (°C) from the last {DEMO_LOOKBACK} days of "
        f"{', '.join(DEMO_FEATURES)}."
    )
    derived = _calendar(console)
    target = Path(out) if out is not None else _unique_default_dir(Path("runs") / "demo")
    res = run_forecast(
        df, target=DEMO_TARGET, time="date", features=DEMO_FEATURES, lookback=DEMO_LOOKBACK, horizon=1,
        gap=DEMO_GAP, derived=derived, period=365, seed=seed, out_dir=target, overwrite=overwrite,
        train_config={"epochs": epochs}, progress=True, on_step=_printer(console),
        title="seqprep demo: Seattle daily weather 2012-2015 (NOAA), next-day temp_max", units="°C",
        device="cpu", threads=threads,  # the same numbers on every machine
    )
    _print_results(console, res)
    if show_leakage:
        _leakage_demo(console, df, seed)
    console.rule("[bold]Saved")
    run_dir = Path(str(res.run_dir))  # the demo always writes its run directory
    console.print(f"  run directory: [bold]{run_dir}[/]  (report: {run_dir / 'report.html'})")
    console.print(f"  next: seqprep evaluate {res.run_dir}")
    console.print(f"  done in {_time.perf_counter() - started:.1f} s")


def _sliding(arr: np.ndarray, lookback: int, t_idx: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    n = len(arr) - lookback - horizon + 1
    idx = np.arange(lookback)[None, :] + np.arange(n)[:, None]
    return arr[idx], arr[np.arange(n) + lookback + horizon - 1, t_idx]


def _leakage_demo(console: Any, df: pd.DataFrame, seed: int) -> None:
    """Ridge on three pipelines: honest, scaled-before-split, windows shuffled into random parts."""
    from ..pipeline import Pipeline
    from ..training.baselines import RidgeBaseline
    from ..training.metrics import mae

    console.rule("[bold]7. Leakage: two classic mistakes, scored with ridge on the same data")
    L, t_idx = DEMO_LOOKBACK, DEMO_FEATURES.index(DEMO_TARGET)
    pipe = Pipeline(L, target=DEMO_TARGET, time="date", features=DEMO_FEATURES, gap=DEMO_GAP)
    parts = pipe.fit(df)
    (Xtr, ytr), (Xte, yte) = parts.train[:], parts.test[:]
    ridge = RidgeBaseline().fit(Xtr.astype(float), ytr.astype(float))
    honest = mae(pipe.inverse_target(yte), pipe.inverse_target(ridge.predict(Xte.astype(float))))

    # Mistake 1: statistics from ALL rows (test included) before splitting; same chronological parts.
    raw = df[DEMO_FEATURES].to_numpy(dtype=np.float64)
    mu, sd = raw.mean(axis=0), raw.std(axis=0)
    leaky_df = df.copy()
    leaky_df[DEMO_FEATURES] = (raw - mu) / sd
    p1 = Pipeline(L, target=DEMO_TARGET, time="date", features=DEMO_FEATURES, gap=DEMO_GAP, scaler="none")
    q = p1.fit(leaky_df)
    (X1, y1), (X1t, y1t) = q.train[:], q.test[:]
    r1 = RidgeBaseline().fit(X1.astype(float), y1.astype(float))
    unscale = (lambda v: np.asarray(v, dtype=float) * sd[t_idx] + mu[t_idx])  # noqa: E731
    scaled_first = mae(unscale(y1t), unscale(r1.predict(X1t.astype(float))))

    # Mistake 2: windows of the whole series first, then a random (shuffled) 70/15/15 split.
    Xall, yall = _sliding((raw - mu) / sd, L, t_idx)
    order = np.random.default_rng(seed).permutation(len(Xall))
    n_tr, n_va = int(0.7 * len(order)), int(0.15 * len(order))
    tr, te = order[:n_tr], order[n_tr + n_va:]
    r2 = RidgeBaseline().fit(Xall[tr], yall[tr])
    shuffled = mae(unscale(yall[te]), unscale(r2.predict(Xall[te])))
    # How much of each test window is also inside some training window (the overlap that leaks):
    in_train = np.zeros(len(raw), dtype=bool)
    for s in tr:
        in_train[s: s + L + 1] = True
    shared = float(np.mean([in_train[s: s + L + 1].mean() for s in te]))

    from rich.table import Table

    table = Table(title="Ridge test MAE (°C) as each pipeline reports it")
    for col in ("pipeline", "test MAE", "vs honest", "what leaks"):
        table.add_column(col, justify="right" if col in ("test MAE", "vs honest") else "left")
    table.add_row("honest (split, then scale on train)", f"{honest:.3f}", "-", "nothing")
    for name, value, what in (
        ("scale on all rows, then split", scaled_first, "test mean/std shape the inputs"),
        ("windows first, random split", shuffled, f"{shared:.0%} of each test window's days are in training windows"),
    ):
        change = (value - honest) / honest
        table.add_row(name, f"{value:.3f}", f"{change:+.1%}", what)
    console.print(table)
    for name, value in (("Scaling on all rows", scaled_first), ("The random split of windows", shuffled)):
        if value < honest:
            console.print(f"  {name} reports {honest - value:.3f} °C lower MAE than the honest pipeline: "
                          f"it flatters the model by {(honest - value) / honest:.1%}.")
        else:
            console.print(f"  {name} does not flatter ridge here ({value:.3f} vs {honest:.3f} °C).")
    console.print(
        "  Note: ridge is linear, so global scaling barely changes its fit -- the all-rows statistics leak "
        "little into a linear model on this stationary-ish data; flexible models and drifting data suffer "
        "more. The random split also tests on different days (all seasons) than the honest last 15%, so "
        "its number is not even measured on the same period: neither leaky figure is an honest estimate."
    )


# ============================================================================ train
_DEFAULT_EPOCHS = (100, 300)  # runs.DEFAULT_TRAIN_CONFIG / DEFAULT_CLASSIFICATION_TRAIN_CONFIG (a test checks)

_TOML_KEYS = {
    "data", "train", "test", "target", "time", "group", "features", "lookback", "horizon", "gap", "split",
    "period", "scaler", "epochs", "batch_size", "lr", "patience", "augment", "seed", "out", "model", "device",
    "threads", "val_fraction", "variable_length", "allow_gaps", "nan_policy", "normalization", "compute_plan",
    "scale_per",
}
# classification's normalization values (seqprep.runs._classify.NORMALIZATIONS; spelled out to keep the CLI's
# imports lazy, a test checks they agree)
_NORMALIZATIONS = ("instance", "global", "none", "auto")
# forecasting's scale_per values (seqprep.runs._forecast.SCALE_PER; spelled out for the same reason, a test checks)
_SCALE_PER = ("feature", "series")


def _read_toml(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "does not exist"
        raise DataError(f"the config file {path!r} {what}. Check the path given to --config.")
    try:
        with p.open("rb") as fh:
            cfg = tomllib.load(fh)
    except UnicodeDecodeError as exc:
        raise DataError(f"the config file {path!r} is not UTF-8 text ({exc.reason}). Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"the config file {path!r} is not valid TOML: {exc}. Fix the line it names.") from None
    unknown = sorted(set(cfg) - _TOML_KEYS)
    if unknown:
        raise DataError(
            f"the config file {path!r} has unknown key(s) {unknown}. Known keys: {sorted(_TOML_KEYS)}."
        )
    return cfg


# TOML key -> (minimum, what) for the integer settings; None: no minimum.
_INT_KEYS = {"lookback": 1, "epochs": 1, "batch_size": 1, "patience": 1, "seed": 0, "period": 1, "threads": 1}
_STR_KEYS = ("data", "train", "test", "target", "time", "group", "out", "device", "variable_length",
             "normalization", "scale_per")


_FORECAST_ONLY = ("data", "target", "time", "group", "features", "lookback", "horizon", "gap", "split", "period",
                  "scaler", "scale_per")


def _refuse_forecast_options(cfg: dict[str, Any], flags: set[str]) -> None:
    """Classification reads .ts files: a forecasting option given with --train/--test would be ignored."""
    given = [k for k in _FORECAST_ONLY if k in cfg]
    if given:
        key = given[0]
        shown = f"--{key.replace('_', '-')}" if key in flags else (f"DATA ({cfg[key]})" if key == "data" else key)
        raise InvalidParameterError(
            f"`{shown}` has no effect in classification (--train/--test .ts files): the cases, labels and lengths "
            f"come from the .ts files. Remove {shown}, or drop --train/--test to forecast a CSV/Parquet file."
        )


def _check_settings(cfg: dict[str, Any], source: str) -> dict[str, Any]:
    """Check the type of every setting (from the TOML file or the flags) and parse split/gap/horizon/features.

    A float where an integer is expected is refused (never truncated), an integer beyond 64 bits is
    refused, and the message names the key and where it came from.
    """
    from . import _options

    out = dict(cfg)
    for key, minimum in _INT_KEYS.items():
        if key in out:
            value = out[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidParameterError(
                    f"`{key}` must be a whole number{source}. Received: {key}={value!r} ({type(value).__name__}). "
                    f"Write an integer such as {key} = {max(minimum, 1) if key != 'lookback' else 14} (no quotes, "
                    "no decimal point)."
                )
            check_int(value, key, minimum=minimum)
    for key in _STR_KEYS:
        if key in out and not isinstance(out[key], str):
            raise InvalidParameterError(
                f"`{key}` must be a string{source}. Received: {key}={out[key]!r}. Write it in quotes, e.g. "
                f'{key} = "..."' + (" (one target column)." if key == "target" else ".")
            )
    if "normalization" in out and out["normalization"] not in _NORMALIZATIONS:
        raise InvalidParameterError(
            f"`normalization` must be one of {', '.join(_NORMALIZATIONS)}{source}. Received: "
            f"normalization={out['normalization']!r}. Use e.g. normalization = \"global\" (per-channel statistics "
            "of the training cases) or \"instance\" (each case on its own)."
        )
    if "scale_per" in out and out["scale_per"] not in _SCALE_PER:
        raise InvalidParameterError(
            f"`scale_per` must be one of {', '.join(_SCALE_PER)}{source}. Received: scale_per={out['scale_per']!r}. "
            "Use series (each series scaled by its own training rows; needs a group column) or feature (one set of "
            "statistics for all series)."
        )
    if "compute_plan" in out:
        from ..runs import check_compute_plan  # imported only when the key is given

        out["compute_plan"] = check_compute_plan(out["compute_plan"], "compute_plan" if source else "--compute-plan")
    if "val_fraction" in out:
        value = out["val_fraction"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidParameterError(
                f"`val_fraction` must be a number{source}. Received: val_fraction={value!r}. Write e.g. 0.2."
            )
    if "lr" in out:
        value = out["lr"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidParameterError(
                f"`lr` must be a number{source}. Received: lr={value!r}. Write e.g. lr = 0.001."
            )
        check_float(value, "lr", minimum=0.0, inclusive=False)
    if "scaler" in out and not isinstance(out["scaler"], (str, dict)):
        raise InvalidParameterError(f"`scaler` must be a name such as \"standard\"{source}. Received: "
                                    f"scaler={out['scaler']!r}. Use one of standard, minmax, maxabs, robust, none.")
    if "augment" in out and not isinstance(out["augment"], (str, list, dict)):
        raise InvalidParameterError(f"`augment` must be a name or a list of names{source}. Received: "
                                    f"augment={out['augment']!r}. Use e.g. augment = [\"jitter\"].")
    if "model" in out and not isinstance(out["model"], dict):
        raise InvalidParameterError(f"`model` must be a [model] table{source}. Received: model={out['model']!r}. "
                                    "Write the model settings under a [model] header.")
    if "features" in out:
        out["features"] = _options.names(out["features"], "features")
    if "horizon" in out:
        h = _options.horizon(out["horizon"])
        if isinstance(h, list):
            raise InvalidParameterError(f"`horizon` must be one integer for `seqprep train`{source}. Received: "
                                        f"horizon={out['horizon']!r}. Use e.g. horizon = 1.")
        out["horizon"] = check_int(h, "horizon", minimum=1, fix="Use horizon >= 1 (0 would forecast a row the "
                                   "model already sees).")
    if "split" in out:
        out["split"] = _options.split(out["split"])
        if not _options.is_time_split(out["split"]) and len(out["split"]) != 3:
            raise InvalidParameterError(
                f"`split` must have three fractions (train, val, test) for `seqprep train`{source}: the validation "
                f"part stops the training early. Received: split={out['split']!r}. Use e.g. 0.7,0.15,0.15."
            )
    if "gap" in out:
        out["gap"] = _options.gap(out["gap"])
    return out


@click.command("train")
@click.argument("data", required=False, type=click.Path(dir_okay=True))
@click.option("--train", "train_path", type=click.Path(), default=None,
              help="Classification or regression on cases: the TRAIN file (.ts, .arff, UCR .txt/.tsv/.csv: "
                   "label first).")
@click.option("--test", "test_path", type=click.Path(), default=None,
              help="The TEST file of the same data set (.ts, .arff, UCR .txt/.tsv/.csv).")
@click.option("--target", default=None, help="Column to forecast [the only numeric column; a .tsf file's values].")
@click.option("--time", "time_col", default=None,
              help="Timestamp column [the only column of dates; a .tsf file's time; none: a table without one].")
@click.option("--group", default=None, help="Series-key column (panel data) [a .tsf file's series key].")
@click.option("--features", default=None, help="Comma-separated input columns (default: all numeric).")
@click.option("--lookback", type=INT64, default=None,
              help="Input steps per window [two seasons of the time axis's step, at least 14: 48 hourly, 96 "
                   "half-hourly, 104 weekly, 24 monthly; 14 daily, quarterly, yearly or numeric; 14 when the data "
                   "are too short for it].")
@click.option("--horizon", type=INT64, default=None, help="Steps ahead [1].")
@click.option("--gap", default=None, help="Purge gap between parts: rows, or a duration such as 7D or 3MS [0].")
@click.option("--allow-gaps", "allow_gaps", is_flag=True, default=None,
              help="Let windows span gaps in time (missing steps of the inferred frequency).")
@click.option("--nan-policy", "nan_policy", type=click.Choice(NAN_POLICIES), default=None,
              help="What to do with NaN/inf values [raise].")
@click.option("--split", "split_", default=None,
              help="Fractions train,val,test [0.7,0.15,0.15], or two cut timestamps (needs --time).")
@click.option("--period", type=INT64, default=None,
              help="Season length in rows for the seasonal-naive baseline [the season of the time axis's step: "
                   "24 hourly, 48 half-hourly, 7 daily, 52 weekly, 12 monthly, 4 quarterly; none for yearly or "
                   "numeric axes].")
@click.option("--epochs", type=INT64, default=None,
              help=f"Maximum epochs [{_DEFAULT_EPOCHS[0]}; {_DEFAULT_EPOCHS[1]} for classification].")
@click.option("--seed", type=INT64, default=None, help="Seed [0].")
@click.option("--members", type=INT64, default=None,
              help="Train this many networks (seeds seed, seed+1, ...) and average them [1]. "
                   "Per-member settings: [[model.members]] tables in the TOML file.")
@click.option("--model", "model_kind", type=click.Choice(["cnn_lstm", "lstm_fcn", "minirocket"]), default=None,
              help="The model: cnn_lstm (CNNLSTM), lstm_fcn (LSTM-FCN; MLSTM-FCN for several channels) or "
                   "minirocket (MiniRocket + ridge, fitted in closed form; cases only) [cnn_lstm]. TOML: [model] "
                   "type = \"lstm_fcn\".")
@click.option("--device", default=None,
              help="Where to train: auto (a CUDA GPU when there is one, with mixed precision), cpu, cuda, cuda:N "
                   "[auto].")
@click.option("--threads", type=INT64, default=None,
              help="torch threads for training; recorded in run.json [automatic: at most half the cores this "
                   "process may use, from the model's size, 1 for small models; capped by SEQPREP_THREADS].")
@click.option("--normalization", default=None,
              help="Classification: instance (each case z-scored per channel on its own), global (per-channel mean "
                   "and std of the training cases), none, or auto (instance or global, by 1-NN cross-validated on "
                   "the training cases) [auto]. TOML: "
                   "normalization = \"global\".")
@click.option("--compute-plan", "compute_plan", default=None,
              help="Classification: a bound on the training work of long or many-case sets. auto (cases over 512 "
                   "steps average-pooled to at most 512, epochs cut so that epochs x cases x length stays within "
                   "4e7 case-steps; nothing changes on short sets), off (no bound), or "
                   "max_length=N,budget=N (either may be none) [auto]. Recorded in run.json. TOML: "
                   "compute_plan = \"off\" or a [compute_plan] table.")
@click.option("--scale-per", "scale_per", default=None, metavar="[feature|series]",
              help="Forecasting: whose statistics scale the data. feature (one mean and std per column over all "
                   "training rows: on a panel the largest series dominate the loss) or series (each series by "
                   "the mean and std of its own training rows; needs a group column, every series needs training "
                   "rows, and predict then takes only the series trained on) [feature]. Metrics stay in original "
                   "units; run.json records it. TOML: scale_per = \"series\".")
@click.option("--out", default=None, type=click.Path(), help="Run directory.")
@click.option("--overwrite/--no-overwrite", default=False, help="Replace an existing --out directory.")
@click.option("--config", "config_path", type=click.Path(), default=None, help="TOML file with the same keys.")
def train(data: str | None, train_path: str | None, test_path: str | None, target: str | None,
          time_col: str | None, group: str | None, features: str | None, lookback: int | None,
          horizon: int | None, gap: str | None, allow_gaps: bool | None, nan_policy: str | None,
          split_: str | None, period: int | None, epochs: int | None, seed: int | None, members: int | None,
          model_kind: str | None, device: str | None, threads: int | None, normalization: str | None,
          compute_plan: str | None, scale_per: str | None, out: str | None, overwrite: bool,
          config_path: str | None) -> None:
    """Train a reference CNN-LSTM: forecasting on DATA (CSV/Parquet/.tsf) or classification on --train/--test .ts."""
    cfg = _read_toml(config_path) if config_path else {}
    cfg = _check_settings(cfg, f" in {config_path!r}" if config_path else "")
    flags = {
        "data": data, "train": train_path, "test": test_path, "target": target, "time": time_col, "group": group,
        "features": features, "lookback": lookback, "horizon": horizon, "gap": gap, "split": split_,
        "period": period, "epochs": epochs, "seed": seed, "out": out, "device": device, "threads": threads,
        "allow_gaps": allow_gaps, "nan_policy": nan_policy, "normalization": normalization,
        "compute_plan": compute_plan, "scale_per": scale_per,
    }
    cfg.update(_check_settings({k: v for k, v in flags.items() if v is not None}, ""))
    if members is not None:
        # the flag overrides a TOML [model] members entry, keeping its other settings
        check_int(members, "members", minimum=1)
        model = cfg.get("model")
        cfg["model"] = {**(model if isinstance(model, dict) else {}), "members": members}
    if model_kind is not None:  # the flag overrides a TOML [model] type, keeping its other settings
        model = cfg.get("model")
        cfg["model"] = {**(model if isinstance(model, dict) else {}), "type": model_kind}
    console = _console()
    train_cfg: dict[str, Any] = {
        k: cfg[k] for k in ("epochs", "batch_size", "lr", "patience", "augment", "threads") if k in cfg
    }
    seed_v = int(cfg.get("seed", 0))
    if cfg.get("train") or cfg.get("test"):
        _refuse_forecast_options(cfg, {k for k, v in flags.items() if v is not None})
        _train_classification(console, cfg, train_cfg, seed_v, overwrite)
        return
    if not cfg.get("data"):
        raise InvalidParameterError(
            "give DATA (a CSV, Parquet or .tsf file) for forecasting, or --train X_TRAIN.ts --test X_TEST.ts for "
            "classification. See: seqprep train --help."
        )
    if "normalization" in cfg:
        shown = "--normalization" if normalization is not None else "normalization"
        raise InvalidParameterError(
            f"`{shown}` applies to classification only (--train/--test .ts files). A forecasting run scales its "
            "columns with the training rows' statistics: set scaler = \"standard\" (or \"robust\", ...) in the TOML "
            "file, and --scale-per series for one set of statistics per series."
        )
    if isinstance(cfg.get("model"), dict) and cfg["model"].get("type") == "minirocket":
        raise InvalidParameterError(
            "`--model minirocket` classifies or regresses cases (--train/--test .ts files); a forecast trains a "
            "network on windows. Use --model cnn_lstm (the default) or lstm_fcn."
        )
    if "compute_plan" in cfg:
        shown = "--compute-plan" if compute_plan is not None else "compute_plan"
        raise InvalidParameterError(
            f"`{shown}` applies to classification only (--train/--test .ts files). A forecasting run's work is set "
            "by --epochs and --lookback."
        )
    from ..runs import run_forecast
    from ._options import bool_flag, infer_target, infer_time, parse_time_column, read_frame, tsf_roles

    path = str(cfg["data"])
    out_dir_arg = cfg.get("out")
    if out_dir_arg:
        check_out_dir(out_dir_arg)
    time_name = cfg.get("time")
    df = read_frame(path, time_name)
    # a .tsf file names its roles: the series key (several series), the time axis and the values
    time_name, group_name, target_name, notes = tsf_roles(df, time_name, cfg.get("group"), cfg.get("target"))
    cfg.update({k: v for k, v in (("group", group_name), ("target", target_name)) if v is not None})
    for note in notes:
        console.print(note)
    file_horizon = (getattr(df, "attrs", {}).get("tsf") or {}).get("horizon")
    if file_horizon and "horizon" not in cfg and int(file_horizon) != 1:  # say it; the 1-step default stays
        console.print(f"  horizon: 1 step; the .tsf file's @horizon is {int(file_horizon)} "
                      f"(--horizon {int(file_horizon)} forecasts that far ahead)")
    if time_name is None:  # the dates column a user (or DataFrame.to_csv) wrote is the time axis
        time_name = infer_time(df, cfg.get("group"))
        if time_name is not None:
            df = parse_time_column(df, time_name)  # the table already read: parse that one column
            console.print(f"  time axis: {time_name!r} (the only column of dates; --time names another)")
    if not cfg.get("target"):
        cfg["target"] = infer_target(df, time_name, cfg.get("group"))
        console.print(f"  target: {cfg['target']!r} (the only numeric column; --target names another)")
    out_dir = Path(cfg["out"]) if cfg.get("out") else _unique_default_dir(Path("runs") / Path(path).stem)
    res = run_forecast(
        df, target=cfg["target"], time=time_name, group=cfg.get("group"), features=cfg.get("features"),
        lookback=int(cfg["lookback"]) if "lookback" in cfg else "auto", horizon=int(cfg.get("horizon", 1)),
        gap=cfg.get("gap", 0),
        allow_gaps=bool_flag(cfg.get("allow_gaps", False), "allow_gaps"), nan_policy=cfg.get("nan_policy", "raise"),
        split=cfg.get("split", (0.7, 0.15, 0.15)), scaler=cfg.get("scaler", "standard"),
        scale_per=cfg.get("scale_per", "feature"), period=cfg.get("period", "auto"),
        model_config=cfg.get("model"), train_config=train_cfg, seed=seed_v, out_dir=out_dir, overwrite=overwrite,
        on_step=_printer(console), device=cfg.get("device", "auto"),
        title=f"seqprep train: {Path(path).name}, forecast {cfg['target']} {int(cfg.get('horizon', 1))} step(s) ahead",
    )
    _print_results(console, res)
    console.print(f"  run directory: [bold]{out_dir}[/]  (report: {out_dir / 'report.html'})")


def _train_classification(
    console: Any, cfg: dict[str, Any], train_cfg: dict[str, Any], seed: int, overwrite: bool
) -> None:
    from ..datasets import load_ts
    from ..runs import run_classification, run_regression

    if not cfg.get("train") or not cfg.get("test"):
        raise InvalidParameterError("classification needs both --train X_TRAIN.ts and --test X_TEST.ts.")
    if cfg.get("out"):
        check_out_dir(cfg["out"])
    tr, te = load_ts(cfg["train"]), load_ts(cfg["test"])
    regression = bool(tr.metadata.get("targetLabel"))
    if regression != bool(te.metadata.get("targetLabel")):
        raise DataError(
            f"{cfg['train']!r} and {cfg['test']!r} disagree: one has numeric targets (@targetLabel true), the other "
            "class labels. Give the TRAIN and TEST files of one data set."
        )
    if regression and "normalization" in cfg:
        raise InvalidParameterError(
            "`normalization` applies to classification; a regression run on cases (@targetLabel true) normalizes "
            "each case on its own. Remove normalization, or give a classification file."
        )
    if regression and "compute_plan" in cfg:
        raise InvalidParameterError(
            "`compute_plan` applies to classification; a regression run on cases (@targetLabel true) has no compute "
            "plan. Remove compute_plan, or give a classification file."
        )
    console.print(f"train: {tr!r}\ntest:  {te!r}")
    if regression:
        console.print("Numeric targets (@targetLabel true): a regression problem. The network predicts the target "
                      "(z-scored with the training cases' mean and std); scores are MAE/RMSE in the target's units.")
    if not regression:
        from ..runs import DEFAULT_CLASSIFICATION_NORMALIZATION

        norm = cfg.get("normalization", DEFAULT_CLASSIFICATION_NORMALIZATION)
        console.print({
            "instance": "Normalization: instance (each case z-scored per channel over its own steps; no statistic "
                        "crosses cases).",
            "global": "Normalization: global (each channel z-scored with the training cases' mean and std; no "
                      "test case is read).",
            "none": "Normalization: none (the values as read).",
            "auto": "Normalization: auto (instance or global, whichever 1-NN classifies better in a 3-fold CV on "
                    "the training cases; run.json records the choice).",
        }[norm])
    else:
        console.print("Each case is z-scored per channel over its own time steps (instance normalization): "
                      "no statistic crosses cases, train or test.")
    out_dir = Path(cfg["out"]) if cfg.get("out") else _unique_default_dir(Path("runs") / Path(cfg["train"]).stem)
    name = Path(cfg["train"]).stem.removesuffix("_TRAIN").removesuffix("_train")
    if regression:
        res = run_regression(tr, te, model_config=cfg.get("model"), train_config=train_cfg, seed=seed,
                             val_fraction=cfg.get("val_fraction", 0.2), out_dir=out_dir, overwrite=overwrite,
                             device=cfg.get("device", "auto"))
    else:
        res = run_classification(tr, te, model_config=cfg.get("model"), train_config=train_cfg, seed=seed,
                                 val_fraction=cfg.get("val_fraction"),
                                 variable_length=cfg.get("variable_length", "mask"),
                                 normalization=cfg.get("normalization"),
                                 compute_plan=cfg.get("compute_plan", "auto"),
                                 out_dir=out_dir, overwrite=overwrite, device=cfg.get("device", "auto"),
                                 title=f"seqprep train: {name}, classify {len(set(map(str, _labels(tr))))} classes")
    plan = res.config.get("compute_plan") or {}
    if plan.get("changed"):  # long or many-case sets: say what the bound changed (run.json has the details)
        console.print(f"Compute plan: {plan['why']} (--compute-plan off to train without the bound).")
    choice = res.config.get("augment_choice")
    if choice:  # augment = "auto": say what was chosen and on what evidence (run.json has the folds)
        from rich.markup import escape

        scores = ", ".join(f"{k} {v:.3f}" for k, v in choice["mean_accuracy"].items())
        console.print(escape(f"Augmentation (auto): {choice['chosen']}; " + (choice["skipped"] or
                                                                           f"2-fold CV on TRAIN: {scores}.")))
    _print_results(console, res)
    console.print(f"  run directory: [bold]{res.run_dir}[/]  (report: {Path(str(res.run_dir)) / 'report.html'})")


def _labels(data: Any) -> Any:
    """The class labels of a loaded ``.ts`` set (none for an unlabelled file)."""
    return data.y if data.y is not None else []


# ============================================================================ evaluate / predict
@click.command("evaluate")
@click.argument("run_dir", type=click.Path())
def evaluate(run_dir: str) -> None:
    """Re-score a saved run's model on its saved test windows and print the metrics table."""
    from ..runs import evaluate_run

    out = evaluate_run(run_dir)
    console = _console()
    cfg = out["config"]
    if out["task"] == "regression" and cfg.get("data") == "cases":
        what = f"regression on cases of length {cfg.get('length')} ({cfg.get('n_channels')} channel(s))"
    elif out["task"] == "regression":
        what = f"forecast {cfg.get('target')!r}, lookback {cfg.get('lookback')}, horizon {cfg.get('horizon')}"
    else:
        what = f"classification, {len(cfg.get('classes', []))} classes"
    console.print(f"run {run_dir}: {what}")
    from ..runs.verdict import model_label, network_label

    console.print(_metrics_table(out["saved"], "Saved test scores", "target units" if out["task"] == "regression"
                                 else "", network_label(cfg.get("model_type"))))
    for name, why in out["skipped"].items():
        console.print(f"  {model_label(name)} skipped: {why}.")
    for name, note in out.get("notes", {}).items():
        console.print(f"  {model_label(name)}: {note}.")
    _print_verdict(console, out.get("verdict"))
    now = ", ".join(f"{k} {v:.4f}" for k, v in out["rescored"].items())
    if out["matches"]:
        console.print(f"[green]Re-scored the saved model on the saved test windows: {now} (matches).[/]")
    else:
        console.print(f"[yellow]Re-scored the saved model on the saved test windows: {now} -- differs from "
                      "metrics.json (different torch version or hardware?).[/]")


@click.command("predict")
@click.argument("run_dir", type=click.Path())
@click.option("--data", "data_path", required=True, type=click.Path(),
              help="New data: rows (CSV/Parquet/.tsf) for a forecasting run, cases (.ts/.arff/UCR text, labels "
                   "optional) for a classification or case-regression run.")
@click.option("--out", "out_path", required=True, type=click.Path(), help="Predictions CSV to write.")
def predict(run_dir: str, data_path: str, out_path: str) -> None:
    """Predict new data with a saved run: forecasts in original units, or the class (value) of each new case."""
    from .._files import atomic_write
    from ..runs import load_run, predict_cases, predict_run
    from ._options import read_frame

    check_out_file(out_path)
    run = load_run(run_dir)
    if Path(out_path).resolve().is_relative_to(run.path.resolve()):
        raise ArtifactError(
            f"--out {out_path!r} is inside the run directory {run_dir!r}, whose files are sealed by its "
            "checksums.json (a file added there makes the run refuse to load). Write the predictions elsewhere."
        )
    if run.config.get("task") == "classification" or run.config.get("data") == "cases":
        from ..datasets import load_ts

        cases = predict_cases(run_dir, load_ts(data_path))
        with atomic_write(out_path) as fh:
            cases.to_csv(fh, index=False)
        what = "class" if run.config.get("task") == "classification" else "value"
        line = f"wrote the predicted {what} of {len(cases)} case(s) to {out_path}"
        if "y_true" in cases and what == "class":  # labelled cases: say how many were right
            right = float((cases["prediction"].astype(str) == cases["y_true"].astype(str)).mean())
            line += f"; accuracy against the file's labels {right:.3f}"
        click.echo(line)
        return
    df = read_frame(data_path, run.config.get("time"))
    table = predict_run(run_dir, df)
    with atomic_write(out_path) as fh:
        table.to_csv(fh, index=False)
    click.echo(f"wrote {len(table)} prediction(s) of {run.config.get('target')!r} to {out_path}")
