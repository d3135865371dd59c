"""The softmax bigram page: the trained layer against the count model it approaches."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples.claims import ClaimError

SOFTMAX = GALLERY / "language" / "plot_softmax_bigram.py"


@pytest.fixture(scope="module")
def softmax(gallery_page):
    return gallery_page("language/plot_softmax_bigram.py")


def test_the_layer_learns_the_probabilities_of_frequent_pairs(softmax):
    # Its softmax rows approach the counted probabilities where the counts are large.
    counts = softmax["train_counts"].float()
    counted = counts / counts.sum(dim=1, keepdim=True)
    with torch.no_grad():
        learned = softmax["layer"].weight.T.softmax(dim=1)
    frequent = counts >= 100
    assert frequent.sum() > 100
    assert (learned - counted)[frequent].abs().max() < 0.01


def test_the_layer_scores_the_validation_pairs_like_add_one_counts(softmax):
    val_x, val_y = softmax["val_x"], softmax["val_y"]
    with torch.no_grad():
        layer_val = F.cross_entropy(softmax["layer"](F.one_hot(val_x[:, 0], 27).float()), val_y)
    counts = softmax["train_counts"] + 1
    add_one = (counts / counts.sum(dim=1, keepdim=True)).log()
    assert layer_val.item() == pytest.approx(softmax["layer_val_loss"], rel=1e-5)
    assert layer_val.item() == pytest.approx(
        F.cross_entropy(add_one[val_x[:, 0]], val_y).item(), abs=0.002
    )


def test_the_softmax_page_check_fails_when_training_stops_early():
    with pytest.raises(ClaimError, match=r"within 0\.01 of the count model"):
        run_page(SOFTMAX, N_STEPS=100)
