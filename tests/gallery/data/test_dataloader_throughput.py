"""The DataLoader timing page: what its measurement leaves out and what it times."""

from __future__ import annotations

import types

import pytest
import torch

PAGE = "data/plot_dataloader_throughput.py"


def test_timing_leaves_out_the_warm_up_and_times_the_training_step(gallery_page, monkeypatch):
    page = gallery_page(PAGE).namespace
    # A fake clock: the first two batches take 25 s each (workers starting), then a
    # batch takes 2 s to arrive and a training step 3 s. Only the steady state counts.
    clock = types.SimpleNamespace(now=0.0)
    served = []

    def source():
        while True:
            clock.now += 25.0 if len(served) < 2 else 2.0
            served.append(len(served))
            yield torch.zeros(1), torch.zeros(1)

    def train_step(images, labels):
        clock.now += 3.0

    settings = {"N_WARMUP_BATCHES": 2, "N_REPEATS": 3, "BATCH_SIZE": 8}
    for name, value in settings.items():
        monkeypatch.setitem(page, name, value)
    monkeypatch.setitem(page, "train_step", train_step)
    monkeypatch.setitem(page, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    alone, training = page["measure"](source, 4)
    assert alone == pytest.approx([4 * 8 / (4 * 2.0)] * 3)
    assert training == pytest.approx([4 * 8 / (4 * 5.0)] * 3)
    assert len(served) == 2 + 2 * 3 * 4
