import contextlib
import os
import signal
import sys
import threading
import time
from functools import partial
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


def torchrun_two_ranks(script: str, *arguments: str) -> list[str]:
    """The command that runs ``script`` in two ranks on this machine with torchrun."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*command, "--nproc-per-node=2", script, *arguments]


def test_a_failing_rank_fails_the_launch_with_its_error(tmp_path):
    (tmp_path / "fails.py").write_text(
        "import os, sys, time\n"
        "if os.environ['RANK'] == '1':\n"
        "    sys.exit('rank 1 failed on purpose')\n"
        "time.sleep(120)\n"
    )
    command = torchrun_two_ranks("fails.py")
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


HANGS_OUTSIDE_ANY_COLLECTIVE = (
    "import os, signal, sys, time\n"
    "if sys.argv[1:] == ['--ignore-sigterm']:\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "with open(f\"rank{os.environ['RANK']}.pids\", 'w') as file:\n"
    "    file.write(f'{os.getpid()} {os.getppid()}')  # this rank and torchrun\n"
    "time.sleep(300)\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    "arguments", [[], ["--ignore-sigterm"]], ids=["ranks that sleep", "ranks that ignore SIGTERM"]
)
def test_a_hanging_torchrun_is_stopped_with_its_workers(tmp_path, arguments):
    # torchrun starts each worker in a session of its own, out of reach of its group.
    (tmp_path / "hangs.py").write_text(HANGS_OUTSIDE_ANY_COLLECTIVE)
    command = torchrun_two_ranks("hangs.py", *arguments)
    timeout, grace, margin = 20, 2, 10  # the timeout leaves the ranks time to start
    raised = []
    call = partial(run_command, command, tmp_path, timeout=timeout, grace=grace)
    launch = threading.Thread(target=lambda: raised.append(raised_by(call)), daemon=True)
    launch.start()
    launch.join(timeout + 3 * grace + margin)
    pids = {pid for file in tmp_path.glob("rank*.pids") for pid in file.read_text().split()}
    try:
        assert not launch.is_alive(), "run_command waits on the workers' pipes"
        assert isinstance(raised[0], TimeoutError)
        assert len(pids) == 3, "the two ranks had not started within the timeout"
        deadline = time.monotonic() + 10
        while left := [pid for pid in pids if running(pid)]:
            assert time.monotonic() < deadline, f"processes {left} of the launch still run"
            time.sleep(0.1)
    finally:  # leave nothing behind, even when the test fails
        for pid in pids:
            with contextlib.suppress(OSError):  # gone already
                if b"hangs.py" in (Path("/proc") / pid / "cmdline").read_bytes():
                    os.kill(int(pid), signal.SIGKILL)


def test_the_timeout_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="greater than 0"):
        run_command([sys.executable, "-c", "pass"], tmp_path, timeout=0)


def raised_by(call) -> BaseException | None:
    """The exception ``call()`` raised, or None."""
    try:
        call()
    except BaseException as error:
        return error
    return None


def running(pid: str) -> bool:
    """Whether a process exists and is not a zombie waiting to be reaped."""
    try:
        status = (Path("/proc") / pid / "status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
