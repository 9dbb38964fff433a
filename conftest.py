"""Root pytest configuration: the doctests of a module whose optional dependency is missing are not collected.

``pytest`` collects the docstring examples of ``src/seqprep`` (``--doctest-modules``). Some modules need an
extra (``pip install 'seqprep[torch]'``, ``[dask]``, ``[plot]``); without it their examples cannot run, so
they are left out here, the way the test modules call ``pytest.importorskip``. CI installs every extra,
so there nothing is left out.
"""

from __future__ import annotations

import importlib

_NEEDS = {
    "torch": ["src/seqprep/models", "src/seqprep/training",
              "src/seqprep/diagnosis"],
    "dask": ["src/seqprep/dask"],
    "matplotlib": ["src/seqprep/runs/report.py"],
}


def _missing(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return True
    return False


collect_ignore = [path for package, paths in _NEEDS.items() if _missing(package) for path in paths]
