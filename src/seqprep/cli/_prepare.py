"""``seqprep prepare``: fit by streaming and export scaled rows + window starts (larger than memory)."""

from __future__ import annotations

from typing import Any

import click

from ._options import INT64
from ._options import gap as _gap
from ._options import horizon as _horizon
from ._options import names as _names
from ._options import split as _split

__all__ = ["prepare"]


@click.command("prepare")
@click.argument("data", type=click.Path(exists=True, dir_okay=True, path_type=str))
@click.option("--out", "out", required=True, type=click.Path(path_type=str), help="Output directory.")
@click.option("--lookback", type=INT64, required=True, help="Input time steps per window.")
@click.option("--target", required=True, help="Target column(s), comma-separated.")
@click.option("--horizon", default="1", show_default=True, help="Target offset(s), e.g. 1 or 1,7.")
@click.option("--time", "time_col", default=None, help="Time column.")
@click.option("--group", default=None, help="Series key column (rows sorted by group, then time).")
@click.option("--features", default=None, help="Input columns, comma-separated (default: all numeric).")
@click.option("--columns", default=None, help="Column names of an .npy file (default: its sidecar JSON).")
@click.option("--split", "split_", default="0.7,0.15,0.15", show_default=True,
              help="Fractions (train,val,test) or cut timestamps.")
@click.option("--gap", default="0", show_default=True, help="Purge gap: rows, or a duration such as 7D or 3MS.")
@click.option("--scaler", default="standard", show_default=True,
              help="standard, minmax, maxabs, robust (exact quantiles, a few passes) or none.")
@click.option("--scale-per", "scale_per", type=click.Choice(["feature", "series", "sample"]), default="feature",
              show_default=True, help="One set of statistics per feature, per series (--group), or per window.")
@click.option("--calendar", default=None,
              help="Add cyclic calendar inputs from --time, comma-separated: dayofyear, weekday, month, hour.")
@click.option("--stride", default=1, show_default=True, type=INT64)
@click.option("--chunk-rows", default=1 << 20, show_default=True, type=INT64, help="Rows per chunk (unit of resume).")
@click.option("--allow-horizon-zero", is_flag=True,
              help="Accept --horizon 0 for a target that is also an input (y is then the last input row: a leak).")
@click.option("--allow-gaps", is_flag=True, help="Let windows span gaps in time (missing steps of the frequency).")
@click.option("--overwrite", is_flag=True, help="Start again in a directory holding another export.")
@click.option("--progress/--no-progress", default=None,
              help="Progress (default: a bar on a terminal, a plain line every few seconds otherwise).")
def prepare(
    data: str,
    out: str,
    lookback: int,
    target: str,
    horizon: str,
    time_col: str | None,
    group: str | None,
    features: str | None,
    columns: str | None,
    split_: str,
    gap: str,
    scaler: str,
    scale_per: str,
    calendar: str | None,
    stride: int,
    allow_gaps: bool,
    chunk_rows: int,
    allow_horizon_zero: bool,
    overwrite: bool,
    progress: bool | None,
) -> None:
    """Fit on DATA (.npy or Parquet) by streaming; write scaled rows and window starts to --out.

    The statistics are fitted in one pass over the training rows; the scaled rows are written once,
    chunk by chunk. Re-running an interrupted command with the same arguments resumes it.
    """
    from ..features import Calendar
    from ..io import check_out_dir
    from ..outofcore import open_export
    from ..pipeline import Pipeline

    targets = _names(target, "target") or []
    if time_col is None:  # as train and check do: the only timestamp column is the time axis
        time_col = _only_time_column(data, _names(columns, "columns"), group)
    pipe = Pipeline(
        lookback, _horizon(horizon), target=targets[0] if len(targets) == 1 else targets,
        features=_names(features, "features"), time=time_col, group=group, split=_split(split_), gap=_gap(gap),
        scaler=scaler, scale_per=scale_per, stride=stride,
        derived=[_calendar(Calendar, calendar)] if calendar else (),
        allow_horizon_zero=allow_horizon_zero,
        allow_gaps=allow_gaps,
    )
    check_out_dir(out)
    path = pipe.export(out, data, columns=_names(columns, "columns"), chunk_rows=chunk_rows, overwrite=overwrite,
                       progress=progress)
    parts = open_export(path)
    click.echo(f"wrote {path}: data.npy {parts[next(iter(parts))].series_data.values.shape}")
    for name, w in parts.items():
        click.echo(f"  {name}: {len(w):,} windows, X {w.sample_shape}")


def _only_time_column(data: str, columns: list[str] | None, group: str | None) -> str | None:
    """The Parquet data's only timestamp or date column (said on stdout), else None (rows stay in file order).

    Only the schema is read. An ``.npy`` file holds numbers only, so it never has one.
    """
    from ..outofcore import ParquetSource, open_source

    source = open_source(data, columns)
    if not isinstance(source, ParquetSource):
        return None
    found = [c for c in source.columns if c != group and source.dtype(c).kind == "M"]
    if len(found) != 1:
        return None
    click.echo(f"time axis: {found[0]!r} (the only timestamp column; --time names another)")
    return found[0]


def _calendar(calendar_cls: Any, value: str) -> Any:
    """The ``--calendar`` features, refused under the option's own name."""
    from ..exceptions import InvalidParameterError

    names = tuple(_names(value, "calendar") or ())
    try:
        return calendar_cls(features=names)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"`--calendar` {value!r} is not valid: {exc}") from None

