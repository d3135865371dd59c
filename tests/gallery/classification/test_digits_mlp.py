"""The digits page: early stopping, the paired comparison, one test-set score."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples.claims import ClaimError
from pytorch_examples.evaluation import evaluate

DIGITS = GALLERY / "classification" / "plot_digits_mlp.py"


@pytest.fixture(scope="module")
def digits(gallery_page):
    # The page as written: its early stopping decides how long each model trains.
    return gallery_page("classification/plot_digits_mlp.py")


def test_digits_models_stop_patience_epochs_after_their_best_and_are_restored(digits):
    data, patience = digits["data"], digits["PATIENCE"]
    for name, model in digits["models"].items():
        history = digits["histories"][name]["validation loss"]
        best = digits["best_epochs"][name]
        assert len(history) == best + patience
        assert history[best - 1] == min(history)
        assert min(history[best:]) > history[best - 1]
        restored = evaluate(model, data.val_x, data.val_y).loss
        assert restored == pytest.approx(min(history), rel=1e-6)


def test_digits_paired_comparison_is_of_the_restored_models_on_validation(digits):
    data = digits["data"]
    losses, right = {}, {}
    for name, model in digits["models"].items():
        scored = evaluate(model, data.val_x, data.val_y)
        with torch.no_grad():
            logits = model(data.val_x).double()
        losses[name] = F.cross_entropy(logits, data.val_y, reduction="none")
        assert losses[name].mean().item() == pytest.approx(scored.loss, rel=1e-5)
        right[name] = scored.predictions == data.val_y
    differences = losses["MLP"] - losses["softmax regression"]
    n = len(differences)
    loss_gap = digits["loss_gap"]
    assert loss_gap.difference == pytest.approx(differences.mean().item(), abs=1e-6)
    standard_error = differences.std().item() / math.sqrt(n)
    assert loss_gap.standard_error == pytest.approx(standard_error, rel=1e-4)
    only_mlp = (right["MLP"] & ~right["softmax regression"]).sum().item()
    only_softmax = (right["softmax regression"] & ~right["MLP"]).sum().item()
    assert digits["accuracy_gap"].difference == pytest.approx((only_mlp - only_softmax) / n)


def test_digits_page_refuses_a_budget_that_stops_training_at_the_limit():
    # The page's first check must be able to fail: with the old fixed budget of 40
    # epochs, training ends at the limit rather than where validation stops improving.
    with pytest.raises(ClaimError, match="stopped improving, before the limit"):
        run_page(DIGITS, MAX_EPOCHS=40)


def test_digits_recipe_is_retrained_on_training_and_validation_data(digits):
    data, chosen = digits["data"], digits["chosen"]
    n_images = len(data.train_y) + len(data.val_y)
    assert len(digits["train_and_val_y"]) == n_images
    steps = digits["best_epochs"][chosen] * math.ceil(n_images / digits["BATCH_SIZE"])
    for state in digits["final_optimizer"].state.values():
        assert int(state["step"]) == steps


def test_digits_test_set_is_scored_for_the_retrained_model_only(digits):
    data = digits["data"]
    expected = evaluate(digits["final_model"], data.test_x, data.test_y)
    assert torch.equal(digits["test"].predictions, expected.predictions)
    assert digits["test"].accuracy == expected.accuracy
