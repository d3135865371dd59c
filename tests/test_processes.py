import sys
import time
from pathlib import Path

import pytest

from pytorch_examples.processes import run_command


def test_the_output_is_returned_and_the_settings_reach_the_command(tmp_path):
    script = "import os; print(os.environ['OMP_NUM_THREADS'], os.environ['TMPDIR'], os.getcwd())"
    output = run_command([sys.executable, "-c", script], tmp_path, timeout=60)
    threads, temporary, cwd = output.split()
    assert threads == "1"
    assert Path(temporary) == tmp_path
    assert Path(cwd).resolve() == tmp_path.resolve()


def test_a_failing_rank_fails_the_launch_with_its_error(tmp_path):
    (tmp_path / "fails.py").write_text(
        "import os, sys, time\n"
        "if os.environ['RANK'] == '1':\n"
        "    sys.exit('rank 1 failed on purpose')\n"
        "time.sleep(120)\n"
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        "fails.py",
    ]
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="rank 1 failed on purpose"):
        run_command(command, tmp_path, timeout=60)
    assert time.monotonic() - start < 60, "the launch waited for rank 0 instead of stopping it"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_hanging_launch_is_killed_with_every_process_it_started(tmp_path):
    hangs = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "open('child.pid', 'w').write(str(child.pid))\n"
        "time.sleep(300)\n"
    )
    with pytest.raises(TimeoutError, match="ran over"):
        run_command([sys.executable, "-c", hangs], tmp_path, timeout=5)
    pid = (tmp_path / "child.pid").read_text()
    deadline = time.monotonic() + 10
    while running(pid):
        assert time.monotonic() < deadline, "the child of the timed-out launch still runs"
        time.sleep(0.1)


def test_the_timeout_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="greater than 0"):
        run_command([sys.executable, "-c", "pass"], tmp_path, timeout=0)


def running(pid: str) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    try:
        status = (Path("/proc") / pid / "status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
