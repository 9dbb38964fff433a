"""``seqprep windows``: build windows from a CSV/Parquet file and describe them."""

from __future__ import annotations

import click

from ._options import INT64
from ._options import horizon as _horizon
from ._options import names as _split_list

__all__ = ["windows_cmd"]


@click.command("windows")
@click.argument("data", type=click.Path(dir_okay=True, path_type=str))
@click.option("--lookback", type=INT64, required=True, help="Input time steps per window.")
@click.option("--horizon", default="1", show_default=True, help="Target offset(s), e.g. 1 or 1,7.")
@click.option("--target", default=None, help="Target column(s), comma-separated.")
@click.option("--features", default=None, help="Input columns, comma-separated (default: all numeric).")
@click.option("--time", "time_col", default=None, help="Time column.")
@click.option("--group", default=None, help="Series key column (long tables).")
@click.option("--stride", default=1, show_default=True, type=INT64)
@click.option("--sampling-rate", default=1, show_default=True, type=INT64)
@click.option("--layout", default="NTC", show_default=True, help="NTC, NCT or NSTC.")
@click.option("--subsequences", default=None, type=INT64, help="Sub-windows for layout NSTC.")
@click.option("--nan-policy", default="raise", show_default=True, help="raise, drop, ffill, interpolate or mask.")
@click.option("--allow-horizon-zero", is_flag=True,
              help="Accept --horizon 0 for a target that is also an input (y is then the last input row: a leak).")
@click.option("--allow-gaps", is_flag=True, help="Let windows span gaps in time (missing steps of the frequency).")
def windows_cmd(
    data: str,
    lookback: int,
    horizon: str,
    target: str | None,
    features: str | None,
    time_col: str | None,
    group: str | None,
    stride: int,
    sampling_rate: int,
    layout: str,
    subsequences: int | None,
    nan_policy: str,
    allow_horizon_zero: bool,
    allow_gaps: bool,
) -> None:
    """Build lazy windows from DATA (CSV or Parquet) and print their shapes and provenance."""
    from rich.console import Console
    from rich.table import Table

    from ..windowing import windows

    targets = _split_list(target, "target")
    w = windows(
        data,
        lookback=lookback,
        horizon=_horizon(horizon),
        target=(targets[0] if targets and len(targets) == 1 else targets),
        features=_split_list(features, "features"),
        stride=stride,
        sampling_rate=sampling_rate,
        layout=layout,
        group=group,
        time=time_col,
        subsequences=subsequences,
        nan_policy=nan_policy,
        allow_horizon_zero=allow_horizon_zero,
        allow_gaps=allow_gaps,
    )
    console = Console()
    console.print(f"[bold]{w!r}[/bold]")
    table = Table(title="windows", show_lines=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("X shape", str(w.shape))
    table.add_row("y shape", str(w.y_shape))
    table.add_row("features", ", ".join(w.feature_names or [str(w.n_features)]))
    table.add_row("targets", ", ".join(w.target_names or ["-"]))
    table.add_row("bytes if materialized", f"{w.nbytes:,}")
    table.add_row("bytes held (data view + starts)", f"{w.data.nbytes + w.starts.nbytes:,}")
    for key, value in sorted(w.report.items()):
        table.add_row(key, str(value))
    console.print(table)
    console.print("first windows (rows counted within each series):")
    console.print(w.provenance().head(5).to_string())
