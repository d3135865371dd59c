"""The distributed training scripts, started with torchrun as a reader would start them.

That two ranks end where one process with twice the batch ends is the DDP and FSDP
pages' own check, which runs when the test suite runs those pages.
"""

import sys

from pytorch_examples.processes import run_command

TINY = ["--samples", "64", "--epochs", "2", "--batch-size", "8"]


def test_torchrun_runs_the_ddp_script_as_a_module(tmp_path):
    # The command a reader types: torchrun --nproc-per-node 2 -m <module> ...
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", "-m", "pytorch_examples.distributed.train_ddp"]
    output = run_command([*command, "--out", "run", *TINY], tmp_path, timeout=120)
    assert "[rank 0] epoch 1: loss" in output
    assert "[rank 1] loaded rank 0's checkpoint: equal to my copy: True" in output
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [
        "checkpoint.pt",
        "report_rank0.pt",
        "report_rank1.pt",
    ]
