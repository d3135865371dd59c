"""The recurrent page, run small: its GRU against names scored one at a time."""

from __future__ import annotations

import math

import pytest
import torch

PAGE = "language/plot_recurrent_network.py"


@pytest.fixture(scope="module")
def recurrent(gallery_page):
    return gallery_page(PAGE)


def test_the_page_records_its_gru(recurrent, recorded, sequences):
    record = recorded(PAGE)
    gru = recurrent["gru"]
    assert record["parameters"] == sum(p.numel() for p in gru.parameters())
    assert record["steps"] == recurrent["N_STEPS"]
    sequences.assert_records_name_by_name(gru, recurrent["splits"].val, record)


def test_the_page_counts_the_characters_its_gru_trained_on(recurrent, recorded):
    # Replay the GRU's batches: each predicts one character per letter, and the end.
    generator = torch.Generator().manual_seed(recurrent["SEED"])
    lengths = torch.tensor([len(name) + 1 for name in recurrent["splits"].train])
    expected = 0
    for _ in range(recurrent["N_STEPS"]):
        batch = torch.randint(0, len(lengths), (recurrent["BATCH_SIZE"],), generator=generator)
        expected += int(lengths[batch].sum())
    assert recorded(PAGE)["training_predictions"] == expected


def test_the_loss_falls_over_a_few_steps(recurrent):
    uniform = math.log(27)
    curve = recurrent["gru_curve"]
    assert curve[-1] < curve[0] < uniform + 0.5
    assert recurrent["val_loss"] < uniform - 0.3


def test_the_gru_is_causal(recurrent, sequences):
    sequences.assert_causal(recurrent["gru"])


def test_padded_names_score_as_if_each_were_alone(recurrent, sequences):
    names = sequences.NAMES
    model, ignore = recurrent["gru"], recurrent["IGNORE_INDEX"]
    inputs, targets = recurrent["encode_names"](names)
    assert int((targets == ignore).sum()) == targets.numel() - sum(len(n) + 1 for n in names)
    loss = recurrent["mean_loss"](model, inputs, targets)
    assert loss == pytest.approx(sequences.mean_loss_alone(model, names), rel=1e-5)
    scrambled = torch.where(targets == ignore, torch.randint_like(inputs, 27), inputs)
    assert recurrent["mean_loss"](model, scrambled, targets) == loss


def test_the_loss_gap_by_position_averages_the_paired_losses(recurrent):
    # Independent of the page's scatter: each position's mean over the names that reach it.
    gru, rnn, val_x, val_y = (recurrent[k] for k in ("gru", "rnn", "val_x", "val_y"))
    position = 4
    reach = val_y[:, position] != recurrent["IGNORE_INDEX"]
    gaps = []
    for model in (rnn, gru):
        model.eval()
        with torch.no_grad():
            logits = model(val_x[reach])[0][:, position]
        gaps.append(torch.nn.functional.cross_entropy(logits, val_y[reach, position]))
    assert recurrent["gap"][position].item() == pytest.approx((gaps[0] - gaps[1]).item(), abs=1e-5)
