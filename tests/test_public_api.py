"""The public API is small, explicit and sorted; importing seqprep stays light."""

import subprocess
import sys

import seqprep


def test_all_is_sorted_and_complete():
    assert seqprep.__all__ == sorted(seqprep.__all__)
    public = {
        n for n in dir(seqprep)
        if not n.startswith("_") and n != "annotations" and not isinstance(getattr(seqprep, n), type(sys))
    }
    assert public - set(seqprep.__all__) == set()
    for name in seqprep.__all__:
        assert hasattr(seqprep, name), name


def test_import_is_light():
    code = (
        "import sys, seqprep; heavy = [m for m in ('torch', 'keras', 'matplotlib', 'tensorflow', 'sklearn', 'dask') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_is_a_seqprep_error_and_a_builtin():
    assert issubclass(seqprep.InvalidParameterError, (seqprep.SeqprepError, ValueError, TypeError))
    assert issubclass(seqprep.DataError, ValueError)
    assert issubclass(seqprep.NotFittedError, AttributeError)
    assert issubclass(seqprep.MemoryBudgetError, MemoryError)
