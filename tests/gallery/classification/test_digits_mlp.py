"""The digits page: early stopping, the paired comparison, the retrained recipe."""

from __future__ import annotations

import math

import pytest

from gallery_manifest import PAGES
from pages import GALLERY, run_page
from pytorch_examples.claims import ClaimError
from pytorch_examples.evaluation import evaluate

DIGITS = GALLERY / "classification" / "plot_digits_mlp.py"
SMALL = next(page.small for page in PAGES if page.path == DIGITS)


@pytest.fixture(scope="module")
def digits(gallery_page):
    # With the small settings, early stopping still decides how long each model trains.
    return gallery_page("classification/plot_digits_mlp.py")


def test_digits_models_stop_patience_epochs_after_their_best_and_are_restored(digits):
    data, patience = digits["data"], digits["PATIENCE"]
    for name, model in digits["models"].items():
        history = digits["histories"][name]["validation loss"]
        best = digits["best_epochs"][name]
        assert len(history) == best + patience
        assert history[best - 1] == min(history)
        assert min(history[best:]) > history[best - 1]
        # The weights kept are those of the best epoch, not of the last one.
        restored = evaluate(model, data.val_x, data.val_y).loss
        assert restored == pytest.approx(min(history), rel=1e-6)


def test_digits_comparison_is_of_the_best_epochs_on_validation(digits):
    # The paired differences are computed image by image after training; the history
    # recorded each model's validation loss and accuracy while it trained. They must
    # agree at the best epochs, in the order MLP minus softmax regression.
    histories, best = digits["histories"], digits["best_epochs"]
    at_best = {
        name: {key: values[best[name] - 1] for key, values in history.items()}
        for name, history in histories.items()
    }
    mlp, softmax = at_best["MLP"], at_best["softmax regression"]
    loss_gap = mlp["validation loss"] - softmax["validation loss"]
    accuracy_gap = mlp["validation accuracy"] - softmax["validation accuracy"]
    assert digits["loss_gap"].difference == pytest.approx(loss_gap, abs=1e-5)
    # The history's accuracies are float32; one image of the validation set moves the
    # difference by more than 1e-3.
    assert digits["accuracy_gap"].difference == pytest.approx(accuracy_gap, abs=1e-6)


def test_digits_page_refuses_a_budget_that_stops_training_at_the_limit(digits):
    # The page's first check must be able to fail: with a budget one epoch longer than
    # the first model to stop needed, that model still stops early but the other ends at
    # the limit rather than where its validation loss stopped improving. The small
    # settings keep the run short; run_page enforces the claims.
    epochs = [len(history["train loss"]) for history in digits["histories"].values()]
    budget = min(epochs) + 1
    assert budget < max(epochs)
    with pytest.raises(ClaimError, match="stopped improving, before the limit"):
        run_page(DIGITS, **SMALL, MAX_EPOCHS=budget)


def test_digits_recipe_is_retrained_for_the_chosen_epochs_on_training_and_validation(digits):
    # AdamW counts its steps: the chosen number of epochs, each one step per batch of
    # the training and validation images together.
    data, chosen = digits["data"], digits["chosen"]
    n_images = len(data.train_y) + len(data.val_y)
    steps = digits["best_epochs"][chosen] * math.ceil(n_images / digits["BATCH_SIZE"])
    states = digits["final_optimizer"].state.values()
    assert states
    assert all(int(state["step"]) == steps for state in states)
