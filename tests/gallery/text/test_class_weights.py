"""The class-weights page: its scores, weights, sampling, choice rule and test scores."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import f1_score, precision_recall_fscore_support, recall_score
from torch.nn import functional as F

from pytorch_examples.data.surnames import pad_names
from pytorch_examples.evaluation import confusion_matrix


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("text/plot_class_weights.py")


def test_the_short_scores_match_scikit_learn(page):
    # Class 3 is never predicted and class 4 never true, so both divisions by zero occur.
    true = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 0, 1, 2])
    predicted = torch.tensor([0, 0, 1, 2, 1, 0, 2, 2, 4, 0, 2, 0, 1, 4])
    scores = page["scores"](confusion_matrix(predicted, true, 5))
    p, r, f, _ = precision_recall_fscore_support(
        true, predicted, labels=range(5), average="macro", zero_division=0
    )
    assert scores["macro precision"] == pytest.approx(p)
    assert scores["macro recall"] == pytest.approx(r)
    assert scores["macro F1"] == pytest.approx(f)
    assert scores["accuracy"] == pytest.approx((true == predicted).double().mean().item())


def test_the_weighted_correct_names_average_to_the_macro_recall(page):
    # The page compares macro recalls with a paired difference of per-name scores.
    val_y = page["val_y"]
    for label, predicted in page["predictions"].items():
        correct = (predicted == val_y).double()
        expected = recall_score(val_y, predicted, average="macro", zero_division=0)
        assert (correct * page["recall_weight"]).mean().item() == pytest.approx(expected), label


def test_weighted_cross_entropy_is_a_mean_renormalised_by_the_batch_weights(page):
    # The page's prose: sum_i w[y_i] loss_i / sum_i w[y_i], not the mean of w[y_i] loss_i.
    weights = page["class_weights"]
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(32, len(weights), generator=generator)
    targets = torch.randint(len(weights), (32,), generator=generator)
    per_example = -logits.log_softmax(dim=1)[torch.arange(32), targets]
    weighted = F.cross_entropy(logits, targets, weight=weights)
    expected = (weights[targets] * per_example).sum() / weights[targets].sum()
    torch.testing.assert_close(weighted, expected)
    assert not torch.isclose(weighted, (weights[targets] * per_example).mean())


def test_the_class_weights_are_n_over_k_n_c(page):
    counts = torch.bincount(page["train_y"], minlength=len(page["LANGUAGES"])).float()
    expected = counts.sum() / (len(counts) * counts)
    torch.testing.assert_close(page["class_weights"], expected)


def test_balanced_sampling_draws_each_language_about_equally_often(page):
    train_y, n_languages = page["train_y"], len(page["LANGUAGES"])
    drawn = page["epoch_order"](True, torch.Generator().manual_seed(1))
    assert len(drawn) == len(train_y)
    shares = torch.bincount(train_y[drawn], minlength=n_languages).double() / len(drawn)
    # A share of about 1/18 from ~14,000 draws has a standard error near 0.002.
    torch.testing.assert_close(shares, torch.full_like(shares, 1 / n_languages), atol=0.01, rtol=0)
    shuffled = page["epoch_order"](False, torch.Generator().manual_seed(1))
    assert sorted(shuffled.tolist()) == list(range(len(train_y)))


def test_the_choice_rule(page):
    choose = page["choose"]
    generator = torch.Generator().manual_seed(0)
    groups = torch.arange(400)
    base = torch.rand(400, generator=generator)
    half = 0.01 * torch.randn(200, generator=generator)
    noise = torch.cat([half, -half])  # mean exactly 0: a tie is a tie

    def pick(weights_gain, sampling_gain, accuracies):
        scores = {
            "plain": base,
            "class weights": base + weights_gain + noise,
            "balanced sampling": base + sampling_gain - noise,
        }
        return choose(scores, accuracies, groups)

    accuracies = {"plain": 0.8, "class weights": 0.6, "balanced sampling": 0.7}
    assert pick(0.0, 0.0, accuracies) == "plain"
    assert pick(0.1, -0.1, accuracies) == "class weights"
    assert pick(0.0, 0.1, accuracies) == "balanced sampling"
    assert pick(0.2, 0.1, accuracies) == "class weights"  # both higher, apart beyond noise
    assert pick(0.1, 0.1, accuracies) == "balanced sampling"  # a tie: the higher accuracy
    assert pick(0.1, 0.1, {**accuracies, "class weights": 0.75}) == "class weights"


def test_the_test_scores_are_those_of_the_chosen_model_with_the_any_language_rule(page):
    model, names, test_y = page["variants"][page["chosen"]], page["test_names"], page["test_y"]
    languages = page["LANGUAGES"]
    of_name = {}
    for name, language in page["pairs"]:
        of_name.setdefault(name, set()).add(languages.index(language))
    with torch.no_grad():
        model.eval()
        guesses = torch.cat([model(*pad_names([n], page["alphabet"])) for n in names]).argmax(1)
    credited = [
        y if g in of_name[n] else g
        for n, g, y in zip(names, guesses.tolist(), test_y.tolist(), strict=True)
    ]
    expected = f1_score(
        test_y, credited, labels=range(len(languages)), average="macro", zero_division=0
    )
    assert page["test_scores"]["macro F1"] == pytest.approx(expected)
    accuracy = sum(c == y for c, y in zip(credited, test_y.tolist(), strict=True)) / len(names)
    assert page["test_scores"]["accuracy"] == pytest.approx(accuracy)
