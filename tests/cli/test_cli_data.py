import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from seqprep.cli import cli

SCRIPT = Path(sys.executable).with_name("seqprep")


def _csv(tmp_path):
    df = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=50), "a": np.arange(50.0), "b": np.ones(50)})
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return path


def test_windows_command_describes_shapes(tmp_path):
    args = ["windows", str(_csv(tmp_path)), "--lookback", "7", "--target", "a", "--time", "date"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "(43, 7, 2)" in res.output and "target_time" in res.output


@pytest.mark.skipif(not SCRIPT.exists(), reason="the seqprep console script is not installed in this environment")
def test_console_script_help_version_and_errors(tmp_path):
    out = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "seqprep, version" in out.stdout
    out = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "windows" in out.stdout
    bad = subprocess.run(
        [str(SCRIPT), "windows", str(_csv(tmp_path)), "--lookback", "7", "--target", "zzz"],
        capture_output=True, text=True,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "zzz" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    missing = subprocess.run([str(SCRIPT), "windows", str(tmp_path / "nope.csv"), "--lookback", "3"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    zero = subprocess.run([str(SCRIPT), "windows", str(_csv(tmp_path)), "--lookback", "0"], capture_output=True,
                          text=True)
    assert zero.returncode == 2 and "lookback=0" in zero.stderr
