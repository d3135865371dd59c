"""The regularization page: its validation losses against the pairs, one by one."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.nn import functional as F


@pytest.fixture(scope="module")
def regularization(gallery_page):
    return gallery_page("language/plot_bigram_regularization.py")


def test_smoothed_counts_score_the_validation_pairs_as_the_page_says(regularization):
    val_x, val_y = regularization["val_x"], regularization["val_y"]
    counts = regularization["train_counts"]
    for k, page_value in zip(
        regularization["SMOOTHING_COUNTS"], regularization["smoothing_val"], strict=True
    ):
        table = ((counts + k) / (counts + k).sum(dim=1, keepdim=True)).log()
        expected = F.cross_entropy(table[val_x[:, 0]], val_y).item()
        if math.isinf(expected):
            assert math.isinf(page_value)
        else:
            assert page_value == pytest.approx(expected, rel=1e-5)


def test_a_stronger_penalty_gives_smaller_weights(regularization):
    # The penalty pulls the weights toward 0: the table's size falls as the strength grows.
    sizes = [table.pow(2).mean().item() for table in regularization["l2_tables"]]
    assert all(later < earlier for earlier, later in itertools.pairwise(sizes))


def test_the_paired_losses_are_the_validation_pairs_name_by_name(regularization):
    # The per-pair losses average to each layer's validation loss, and the groups of the
    # standard error are the validation names: a new group starts at each name's start.
    for table, page_value in zip(
        regularization["l2_tables"], regularization["l2_val"], strict=True
    ):
        pair_losses = regularization["val_pair_losses"](table)
        assert pair_losses.double().mean().item() == pytest.approx(page_value, rel=1e-5)
    names = regularization["name_of_pair"]
    starts = regularization["val_x"][:, 0] == regularization["vocab"].encode(".")[0]
    assert torch.equal(starts[1:], names[1:] != names[:-1])
    assert int(names.max()) + 1 == len(regularization["splits"].val)
