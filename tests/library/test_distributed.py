"""The distributed training scripts, started with torchrun as a reader would start them."""

import sys

import pytest
import torch

from pytorch_examples.distributed.launch import launch
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


@pytest.mark.parametrize("script", ["train_ddp", "train_fsdp"])
def test_two_ranks_end_where_one_process_with_twice_the_batch_ends(tmp_path, script):
    module = f"pytorch_examples.distributed.{script}"
    two = launch(module, tmp_path / "two", TINY, n_processes=2, timeout=120)
    one_settings = [*TINY[:-1], "16"]  # the same samples per step, in one process
    one = launch(module, tmp_path / "one", one_settings, n_processes=None, timeout=120)
    assert two.checkpoint.keys() == one.checkpoint.keys()
    for name, tensor in one.checkpoint.items():
        torch.testing.assert_close(two.checkpoint[name], tensor, rtol=0, atol=1e-5)
    assert two.command.startswith("torchrun --standalone --nproc-per-node=2 -m " + module)
    assert len(two.logs) == 2 and len(one.logs) == 1
