"""``seqprep audit`` and ``seqprep check``: the audit from the command line.

Exit codes: 0 when no error finding, 1 when an error finding exists, 2 on bad
input (raised as a :class:`~seqprep.exceptions.SeqprepError`, printed by ``cli.main``).
"""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from ..exceptions import DataError, InvalidParameterError

__all__ = ["audit_cmd", "check"]

_KEYS = ("X_train", "X_val", "X_test", "y_train", "y_val", "y_test", "time_train", "time_val", "time_test")


def _load_array(path: str, what: str) -> np.ndarray:
    from ..io import check_file, load_npy, read_table

    p = check_file(path, what)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return load_npy(p, what)
    if suffix in (".csv", ".txt"):
        frame = read_table(p)
        bad = [str(c) for c in frame.columns if not np.issubdtype(frame[c].dtype, np.number)]
        if bad:
            raise DataError(f"the `{what}` file {path!r} has non-numeric columns {bad}. Save numbers only.")
        return frame.to_numpy()
    raise InvalidParameterError(
        f"`{what}` must be a .npy or .csv file. Received: {path!r}. Save arrays with numpy.save."
    )


def _load_npz(path: str) -> dict[str, np.ndarray]:
    from ..io import check_file, load_npz

    p = check_file(path, "ARRAYS")
    if p.suffix.lower() != ".npz":
        raise InvalidParameterError(
            f"The positional ARRAYS file must be an .npz archive. Received: {path!r}. "
            "Use --train/--test for .npy or .csv files."
        )
    data = load_npz(p, "ARRAYS")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise DataError(f"{path!r} holds unknown key(s) {unknown}. Allowed keys: {', '.join(_KEYS)}. Rename them.")
    for key in ("X_train", "X_test"):
        if key not in data:
            raise DataError(
                f"{path!r} has no key {key!r}. Keys found: {sorted(data)}. Save it with np.savez(..., {key}=...)."
            )
    return data


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        click.echo(report.to_json())
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    colour = {"error": "bold red", "warning": "yellow", "info": "cyan"}
    table = Table(title="seqprep audit", show_lines=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("code", no_wrap=True)
    table.add_column("finding", overflow="fold", ratio=3)
    table.add_column("fix", overflow="fold", ratio=1)
    for f in report.findings:
        evidence = "\n".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in f.evidence.items())
        table.add_row(f"[{colour[f.severity]}]{f.severity}[/]", f.code, f"{f.title}\n[dim]{evidence}[/]", f.fix)
    if report.findings:
        console.print(table)
    n_info = len(report.findings) - len(report.errors) - len(report.warnings)
    console.print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), {n_info} info")


@click.command("audit")
@click.argument("arrays", required=False, type=click.Path(dir_okay=False))
@click.option("--train", "train", type=click.Path(dir_okay=False), help="X_train (.npy or .csv).")
@click.option("--test", "test", type=click.Path(dir_okay=False), help="X_test (.npy or .csv).")
@click.option("--val", "val", type=click.Path(dir_okay=False), help="X_val (.npy or .csv).")
@click.option("--y-train", type=click.Path(dir_okay=False), help="y_train (.npy or .csv).")
@click.option("--y-test", type=click.Path(dir_okay=False), help="y_test (.npy or .csv).")
@click.option("--y-val", type=click.Path(dir_okay=False), help="y_val (.npy or .csv).")
@click.option("--time-train", type=click.Path(dir_okay=False), help="time_train: each sample's target time.")
@click.option("--time-test", type=click.Path(dir_okay=False), help="time_test (.npy or .csv).")
@click.option("--time-val", type=click.Path(dir_okay=False), help="time_val (.npy or .csv).")
@click.option("--layout", type=click.Choice(["NTC", "NCT"]), default="NTC", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def audit_cmd(
    ctx: click.Context,
    arrays: str | None,
    train: str | None,
    test: str | None,
    val: str | None,
    y_train: str | None,
    y_test: str | None,
    y_val: str | None,
    time_train: str | None,
    time_test: str | None,
    time_val: str | None,
    layout: str,
    as_json: bool,
) -> None:
    """Audit arrays you built yourself for leakage.

    Pass one ARRAYS .npz with keys X_train, X_test (and X_val, y_*, time_*), or the
    parts as --train/--test/... files. Exits 1 when an error is found.
    """
    from ..auditing import audit

    data: dict[str, Any]
    if arrays is not None:
        if train or test or val or y_train or y_test or y_val or time_train or time_test or time_val:
            raise InvalidParameterError(
                "Pass either an ARRAYS .npz file or --train/--test/--y-*/--time-* files, not both."
            )
        data = _load_npz(arrays)
    else:
        if not train or not test:
            raise InvalidParameterError(
                "`--train` and `--test` are required without an ARRAYS .npz file. "
                "Run: seqprep audit --train X_train.npy --test X_test.npy"
            )
        named = {"X_train": train, "X_test": test, "X_val": val, "y_train": y_train, "y_test": y_test, "y_val": y_val}
        named.update({"time_train": time_train, "time_test": time_test, "time_val": time_val})
        data = {k: _load_array(v, k) for k, v in named.items() if v}
    report = audit(data.pop("X_train"), data.pop("X_test"), layout=layout, **data)
    _print_report(report, as_json)
    ctx.exit(1 if report.errors else 0)


@click.command("check")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--time", "time_col", default=None, help="The timestamp column (dates, periods, years or step numbers).")
@click.option("--group", "group_col", default=None, help="The series id column.")
@click.option("--target", default=None,
              help="Column to forecast: also run what `seqprep train` runs before training (split and windows).")
@click.option("--features", default=None, help="Comma-separated input columns (default: all numeric).")
@click.option("--lookback", type=int, default=None,
              help="Input steps per window (with --target) [as train: two seasons of the step, at least 14].")
@click.option("--horizon", type=int, default=1, show_default=True, help="Steps ahead (with --target).")
@click.option("--gap", default="0", show_default=True, help="Purge gap: rows, or a duration such as 7D or 3MS.")
@click.option("--split", "split_", default="0.7,0.15,0.15", show_default=True, help="Fractions train,val,test.")
@click.option("--allow-gaps", is_flag=True, help="Let windows span gaps in time (missing steps).")
# io.NAN_POLICIES, spelled out: this module imports io (and pandas) only when a command runs
@click.option("--nan-policy", type=click.Choice(["raise", "drop", "ffill", "interpolate"]), default="raise",
              show_default=True, help="What training does with NaN/inf values.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def check(ctx: click.Context, data: str, time_col: str | None, group_col: str | None, target: str | None,
          features: str | None, lookback: int | None, horizon: int, gap: str, split_: str, allow_gaps: bool,
          nan_policy: str, as_json: bool) -> None:
    """Check a CSV/Parquet/.tsf file for data problems (NaN, time order, gaps, scales).

    The time axis and its frequency are shown; gaps are missing steps of that frequency. Whatever
    `seqprep train`/`windows` would refuse is reported here first, with the same words (give
    --target, and the same --lookback/--horizon/--gap/--split/--allow-gaps/--nan-policy as for
    training). Exits 1 when an error is found.
    """
    from ..auditing import AuditReport, Finding, check_data
    from ..exceptions import SeqprepError
    from ..io import as_series
    from ._options import gap as _gap
    from ._options import infer_time, parse_time_column, read_frame, tsf_roles
    from ._options import names as _names
    from ._options import split as _split

    df = read_frame(data, time_col)
    # a .tsf file names its time axis and series key, as for `seqprep train` (the target stays --target's)
    time_col, group_col, _, _ = tsf_roles(df, time_col, group_col, target)
    if time_col is None:  # the same time axis `seqprep train` takes without --time
        time_col = infer_time(df, group_col)
        if time_col is not None:
            df = parse_time_column(df, time_col)
    report = check_data(df, time=time_col, group=group_col, nan_policy=nan_policy, target=target)
    extra: list[Finding] = []
    if target is None:
        try:
            as_series(df, time=time_col, group=group_col, nan_policy=nan_policy)
        except SeqprepError as exc:
            extra.append(_refused(str(exc), "windows"))
    else:
        from ..runs import check_forecast

        out = check_forecast(df, target=target, time=time_col, group=group_col, features=_names(features),
                             lookback="auto" if lookback is None else lookback, horizon=horizon, gap=_gap(gap),
                             split=_split(split_), nan_policy=nan_policy, allow_gaps=allow_gaps)
        if out["refused"]:
            extra.append(_refused(out["refused"], "train"))
        else:
            parts = ", ".join(f"{k} {v['windows']} windows ({v['rows']} rows)" for k, v in out["split"].items())
            extra.append(Finding("TRAINING_DATA", "info", f"`seqprep train` would use: {parts}; lookback "
                                 f"{out['lookback']}; inputs {', '.join(out['inputs'])}.",
                                 {"inputs": list(out["inputs"]), "lookback": out["lookback"]},
                                 "Nothing to fix."))
    if extra:
        report = AuditReport(tuple(report.findings) + tuple(extra))
    _print_report(report, as_json)
    ctx.exit(1 if report.errors else 0)


def _refused(message: str, command: str) -> Any:
    from ..auditing import Finding

    return Finding("REFUSED", "error", f"`seqprep {command}` would stop here: {message}", {"command": command},
                   "See the message: it names the fix (e.g. --allow-gaps, --nan-policy, a shorter --lookback).")
