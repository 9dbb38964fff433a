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


def test_error_messages_stay_one_line_whatever_they_quote():
    """A column name or file content with a line break (\\x0c, \\n, \\u2028) is shown escaped: one line."""
    import pandas as pd
    import pytest

    from seqprep.exceptions import DataError, InvalidParameterError

    assert str(DataError("the data has NaN values: 0\x0c: 1")) == "the data has NaN values: 0\\x0c: 1"
    assert str(InvalidParameterError("`x` got 'a\nb'\u2028")) == "`x` got 'a\\nb'\\u2028"
    frame = pd.DataFrame({"a\x0cb": [1.0, float("nan"), 3.0]})
    with pytest.raises(DataError) as info:
        seqprep.windows(frame, lookback=1, target="a\x0cb")
    assert len(str(info.value).splitlines()) == 1 and "a\\x0cb" in str(info.value)
