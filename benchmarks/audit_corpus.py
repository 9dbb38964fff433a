"""Precision and recall of ``seqprep.audit`` per finding code on the generated leak corpus.

The corpus (``tests/auditing/corpus.py``) crosses every leak kind with every scaler, series
shape and set of parts given, plus honest pipelines (seqprep's own ``Pipeline`` among them).
It is split before measuring: the ``dev`` half is where the thresholds were chosen, the
``held`` half only reports. Run::

    PYTHONPATH=src SEQPREP_SHARED_DATA=/work/shared/data python benchmarks/audit_corpus.py [--half dev|held|both]
        [--verbose]

Prints per half: the corpus counts, per code true/false positives, misses, precision and
recall; every false error on an honest pipeline; every leak case the audit passed in silence
(no error, no warning, no info saying why it could not decide).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import emit_result, headline, print_table  # noqa: E402


def _load_corpus():
    path = HERE.parent / "tests" / "auditing" / "corpus.py"
    spec = importlib.util.spec_from_file_location("seqprep_audit_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


#: The grid the scaling thresholds are chosen from (see docs/audit.md for the selection rule).
GRID = {
    "WINDOW_TOL": (0.01, 0.02, 0.03, 0.05),
    "PER_PART_MASS": (1.5, 2.0, 3.0, 5.0),
    "BEFORE_SPLIT_MASS": (3.0, 5.0, 10.0, 20.0),
}
_SCALING = ("SCALED_BEFORE_SPLIT", "SCALED_PER_PART")


def sweep(corpus, show: str | None = None) -> None:
    """Evaluate the scaling rule for every grid point on the dev half; print the chosen point.

    Rule, fixed before the held-out half was run: keep the points with no false SCALED_*
    error on any dev case; among them take the highest sum of the two SCALED_* recalls;
    ties go to the most conservative point (smallest WINDOW_TOL, then smallest
    PER_PART_MASS, then largest BEFORE_SPLIT_MASS).
    """
    import itertools

    from seqprep.auditing import _inputs, _rules

    cached = []
    for case in corpus.corpus(("dev",)):
        a = case.build()
        xs = _inputs._parts_x({k[2:]: v for k, v in a.items() if k.startswith("X_")}, "NTC")
        cached.append((case, _inputs._underlying_rows(xs), xs["train"].ndim == 3))
    results = []
    for tol, per, before in itertools.product(*GRID.values()):
        _rules.WINDOW_TOL, _rules.PER_PART_MASS, _rules.BEFORE_SPLIT_MASS = tol, per, before
        false = 0
        hit = dict.fromkeys(_SCALING, 0)
        want = dict.fromkeys(_SCALING, 0)
        for case, rows, windowed in cached:
            got = {f.code for f in _rules._check_scaling(rows.unique, rows.union, rows.own, windowed)} & set(_SCALING)
            false += len(got - case.expect - case.allow)
            if show and got - case.expect - case.allow and (tol, per, before) == tuple(map(float, show.split(","))):
                print(f"false at {show}: {case.name} {sorted(got)}")
            for code in _SCALING:
                want[code] += code in case.expect
                hit[code] += code in case.expect and code in got
        recall = sum(hit[c] / max(want[c], 1) for c in _SCALING)
        results.append((tol, per, before, false, hit, want, recall))
    print_table(
        ["WINDOW_TOL", "PER_PART_MASS", "BEFORE_SPLIT_MASS", "false SCALED_*", "before hit", "per-part hit"],
        [
            [t, p, b, f, f"{h[_SCALING[0]]}/{w[_SCALING[0]]}", f"{h[_SCALING[1]]}/{w[_SCALING[1]]}"]
            for t, p, b, f, h, w, _ in results
        ],
    )
    ok = [r for r in results if r[3] == 0]
    if not ok:
        print("no grid point without a false SCALED_* error")
        return
    best = max(ok, key=lambda r: (round(r[6], 9), -r[0], -r[1], r[2]))
    print(f"chosen: WINDOW_TOL={best[0]} PER_PART_MASS={best[1]} BEFORE_SPLIT_MASS={best[2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=["dev", "held", "both"], default="both")
    parser.add_argument("--verbose", action="store_true", help="List every missed or false finding.")
    parser.add_argument("--sweep", action="store_true", help="Choose the scaling thresholds on the dev half.")
    parser.add_argument("--show", default=None, help="With --sweep: list the false errors at 'TOL,PER,BEFORE'.")
    args = parser.parse_args()
    corpus = _load_corpus()
    if args.sweep:
        sweep(corpus, args.show)
        return
    halves = ("dev", "held") if args.half == "both" else (args.half,)
    rows = []
    summary = {}
    for half in halves:
        cases = corpus.corpus((half,))
        t0 = time.perf_counter()
        outcomes = [corpus.run_case(c) for c in cases]
        seconds = time.perf_counter() - t0
        honest = [o for o in outcomes if o.case.leak == "honest"]
        false_errors = [o for o in honest if o.errors - o.case.allow]
        false_warnings = [o for o in honest if o.false - o.errors]
        silent = [o for o in outcomes if o.silent]
        counts = Counter(o.case.leak for o in outcomes)
        print(f"\n== {half}: {len(cases)} cases in {seconds:.1f} s; by leak: {dict(counts)}")
        print(f"   by scaler: {dict(Counter(o.case.scaler for o in outcomes))}")
        print(f"   by parts: {dict(Counter(o.case.parts for o in outcomes))}")
        print(f"   by shape: {dict(Counter(o.case.shape for o in outcomes))}")
        print(
            f"   with y: {sum(o.case.with_y for o in outcomes)}, with time: {sum(o.case.with_time for o in outcomes)}"
        )
        table = corpus.score(outcomes)
        body = []
        for code, r in table.items():
            prec = r["tp"] / (r["tp"] + r["fp"]) if r["tp"] + r["fp"] else float("nan")
            rec = r["tp"] / (r["tp"] + r["fn"]) if r["tp"] + r["fn"] else float("nan")
            body.append([code, r["tp"], r["fp"], r["fn"], f"{prec:.3f}", f"{rec:.3f}"])
            rows.append(headline(f"{half} {code} precision", round(prec, 4)))
            rows.append(headline(f"{half} {code} recall", round(rec, 4)))
        print_table(["code", "tp", "fp", "fn", "precision", "recall"], body)
        infos = Counter(c for o in outcomes for c in o.infos)
        print(f"   info findings: {dict(sorted(infos.items()))}")
        print(
            f"   honest cases: {len(honest)}; with a false error: {len(false_errors)}; "
            f"with a false warning: {len(false_warnings)}"
        )
        print(f"   leak cases passed in silence: {len(silent)}")
        for o in false_errors:
            print(f"   FALSE ERROR {o.case.name}: {sorted(o.errors)}")
        for o in silent:
            print(f"   SILENT {o.case.name}")
        if args.verbose:
            for o in outcomes:
                if o.missed or o.false:
                    print(f"   {o.case.name}: missed={sorted(o.missed)} false={sorted(o.false)} info={sorted(o.infos)}")
        rows.append(
            headline(f"{half} false errors on honest pipelines", len(false_errors), target="0", ok=not false_errors)
        )
        rows.append(headline(f"{half} leak cases passed in silence", len(silent)))
        summary[half] = {"cases": len(cases), "honest": len(honest), "false_errors": len(false_errors)}
    emit_result("audit_corpus", {"halves": list(halves)}, rows, summary=summary)


if __name__ == "__main__":
    main()
