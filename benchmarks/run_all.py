"""Run every benchmark script in benchmarks/ as a subprocess and print one table of headline ratios.

Usage::

    python benchmarks/run_all.py --size small     # a minute or two
    python benchmarks/run_all.py --size medium    # ~10 minutes
    python benchmarks/run_all.py --size full      # the sizes quoted in docs/performance.md
    python benchmarks/run_all.py --contended      # quiet vs one competing busy process (threads)

Each script must print ``RESULT {json}`` as its last stdout line (see ``_common.py``); its
``headline`` list becomes rows of the summary table. Scripts run one after the other (never in
parallel: they would disturb each other's timings), with the same interpreter as this one.
Their own output is streamed through unchanged.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import RESULT_PREFIX, print_table  # noqa: E402

# flags per script and size for the scripts owned here
FLAGS: dict[str, dict[str, list[str]]] = {
    "windows.py": {
        "small": ["--rows", "200000", "--repeats", "2", "--loop-rows", "20000", "--keras-rows", "30000"],
        "medium": ["--rows", "1000000", "--repeats", "3", "--keras-rows", "100000"],
        "full": [],
    },
    "panel.py": {
        "small": ["--series", "1000", "--steps", "500", "--sample-batches", "200", "--pf-max-series", "100",
                  "--pf-sample-batches", "50", "--pf-budget", "60"],
        "medium": ["--series", "10000", "--steps", "1000", "--pf-max-series", "10000", "--pf-budget", "240"],
        "full": [],
    },
    "loader.py": {"small": ["--rows", "200000", "--repeats", "3"], "medium": ["--repeats", "3"], "full": []},
    "pipeline_fit.py": {"small": ["--rows", "1000000", "--repeats", "1"], "medium": ["--rows", "5000000"],
                        "full": []},
    "out_of_core.py": {"small": ["--rows", "2000000"], "medium": ["--rows", "20000000"], "full": []},
    "dask_partition_memory.py": {"small": ["--rows", "500000", "--series", "500"], "medium": [], "full": []},
    "results.py": {
        "small": ["--task", "weather", "--seeds", "0"],
        "medium": ["--task", "all", "--seeds", "0"],
        "full": ["--task", "all", "--seeds", "0", "1", "2"],
    },
}

# --contended: the scripts that measure with and without one competing busy process, interleaved
CONTENDED: dict[str, dict[str, list[str]]] = {
    "windows.py": {"small": ["--contended", "--rows", "200000", "--repeats", "2"],
                   "medium": ["--contended", "--repeats", "3"], "full": ["--contended", "--repeats", "5"]},
    "panel.py": {"small": ["--contended", "--series", "400", "--steps", "500", "--features", "32",
                           "--sample-batches", "500", "--repeats", "2"],
                 "medium": ["--contended", "--series", "2000", "--steps", "500", "--features", "32",
                            "--sample-batches", "2000", "--repeats", "3"],
                 "full": ["--contended", "--series", "2000", "--steps", "500", "--features", "32",
                          "--sample-batches", "3000", "--repeats", "5"]},
    "training.py": {"small": ["--contended", "--repeats", "1", "--epochs", "10", "--old-epochs", "2"],
                    "medium": ["--contended", "--repeats", "2"], "full": ["--contended", "--repeats", "3"]},
}

FLAGS["training.py"] = CONTENDED["training.py"]  # its only mode measures both conditions

# scale.py belongs to another developer: pass --size if its --help offers it, else --rows/--repeats
SCALE_ROWS = {"small": ["--rows", "1000000", "--repeats", "2"], "medium": ["--rows", "5000000", "--repeats", "3"],
              "full": []}


def script_flags(path: Path, size: str) -> list[str]:
    if path.name in FLAGS:
        return FLAGS[path.name][size]
    help_text = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True,
                               check=False).stdout
    if "--size" in help_text:
        return ["--size", size]
    if path.name == "scale.py" and "--rows" in help_text:
        return SCALE_ROWS[size]
    return []


def discover() -> list[Path]:
    first = [HERE / n for n in ("windows.py", "panel.py", "scale.py")]
    others = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run_all.py"
                    and p not in first)
    return [p for p in first if p.exists()] + others


def run_one(path: Path, size: str, contended: bool = False) -> tuple[dict | None, float, int]:
    flags = CONTENDED[path.name][size] if contended else script_flags(path, size)
    cmd = [sys.executable, str(path), *flags]
    print(f"\n$ {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    result = None
    assert proc.stdout is not None  # noqa: S101 (benchmark script, not src/)
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX):
            try:
                result = json.loads(line[len(RESULT_PREFIX):])
            except json.JSONDecodeError:
                print(f"  (unparseable RESULT line from {path.name})")
            print(line[:300].rstrip() + (" ..." if len(line) > 300 else ""), flush=True)
        else:
            print(line, end="", flush=True)
    rc = proc.wait()
    return result, time.perf_counter() - t0, rc


def fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=("small", "medium", "full"), default="small")
    p.add_argument("--only", nargs="*", help="script names to run (default: all)")
    p.add_argument("--contended", action="store_true",
                   help="run windows.py, panel.py and training.py with and without one competing busy process")
    args = p.parse_args(argv)
    scripts = [HERE / n for n in CONTENDED] if args.contended else discover()
    if args.only:
        scripts = [s for s in scripts if s.name in args.only or s.stem in args.only]
    rows = []
    failed = []
    for path in scripts:
        result, secs, rc = run_one(path, args.size, args.contended)
        if rc != 0:
            failed.append(f"{path.name} (exit {rc})")
            rows.append([path.stem, "FAILED", "", "", "", ""])
            continue
        if result is None:
            rows.append([path.stem, "(ran; printed no RESULT line)", "", "", "", ""])
            continue
        for h in result.get("headline", []):
            ok = h.get("ok")
            rows.append([result.get("benchmark", path.stem), h.get("name", ""), fmt(h.get("value")),
                         h.get("unit", ""), h.get("target") or "", "" if ok is None else ("yes" if ok else "NO")])
        print(f"({path.name}: {secs:.0f} s)", flush=True)
    print(f"\n## Headline results (--size {args.size}{' --contended' if args.contended else ''})\n")
    print_table(["benchmark", "measure", "value", "unit", "target", "met"], rows)
    if failed:
        print("\nfailed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
