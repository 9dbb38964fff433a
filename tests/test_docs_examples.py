"""Every ```python block of README.md and docs/*.md runs, as written, in a fresh folder.

The blocks of one file run in order in one namespace (a later block may use an earlier block's names),
in a temporary working directory, twice for the README (its Quick start must run twice in a row). A
block whose comment line just above reads ``<!-- docs-test: skip (reason) -->`` is illustrative (it
names arrays or a cluster the page does not build, or is an outline) and is not run; ``<!-- docs-test: needs X -->``
runs it when module X can be imported. To keep this fast, :func:`seqprep.training.fit` is capped at
2 epochs here (what the blocks print about shapes and data is exact; a trained model's score is not
checked).

A line with a trailing ``# -> text`` comment is checked: ``text`` must appear in what the block
printed (``print(X.shape)  # -> (32, 14, 4)``), so the numbers a page shows are the numbers it prints.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?:<!-- docs-test: (?P<mark>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)
_CHECK = re.compile(r"#\s*->\s*(?P<want>.+?)\s*$")


def _blocks(page: Path) -> list[tuple[str, str, int]]:
    text = page.read_text()
    out = []
    for m in _BLOCK.finditer(text):
        line = text.count("\n", 0, m.start("code")) + 1
        out.append((m.group("mark") or "", m.group("code"), line))
    return out


def _expected(code: str) -> list[str]:
    wants = []
    for line in code.splitlines():
        m = _CHECK.search(line)
        if m:
            wants.append(m.group("want"))
    return wants


def test_every_page_block_is_marked_or_runs():
    """Each block has no marker, or a known one with a reason."""
    for page in PAGES:
        for mark, _code, line in _blocks(page):
            assert mark == "" or re.fullmatch(r"skip \(.+\)|needs [\w.]+", mark), f"{page.name}:{line}: {mark!r}"


@pytest.fixture
def capped_fit(monkeypatch):
    import seqprep.training as training

    real = training.fit

    def fit(*args, **kwargs):
        kwargs["epochs"] = min(int(kwargs.get("epochs", 2)), 2)
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "fit", fit)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch, capped_fit):
    blocks = _blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python block")
    if any("torch" in code or "seqprep.models" in code for _, code, _ in blocks):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    for attempt in range(2 if page.name == "README.md" else 1):
        namespace: dict = {"__name__": f"docs_{page.stem}"}
        for mark, code, line in blocks:
            if mark.startswith("skip"):
                continue
            if mark.startswith("needs ") and importlib.util.find_spec(mark.split()[1]) is None:
                continue
            compiled = compile(code, f"{page.name}:{line}", "exec")
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compiled, namespace)  # noqa: S102 -- the page's own example, run as a reader would
            for want in _expected(code):
                assert want in out.getvalue(), f"{page.name}:{line} (run {attempt + 1}): {want!r} not printed in\n" + (
                    out.getvalue())
