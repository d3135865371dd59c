"""The unbalanced-classes page: its scores against scikit-learn's, and its baseline."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import f1_score, precision_recall_fscore_support

from pytorch_examples.evaluation import confusion_matrix


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("text/plot_unbalanced_classes.py")


# Class 3 is never predicted and class 4 never true, so both divisions by zero occur.
TRUE = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 0, 1, 2])
PREDICTED = torch.tensor([0, 0, 1, 2, 1, 0, 2, 2, 4, 0, 2, 0, 1, 4])
N_CLASSES = 5


def test_per_class_scores_match_scikit_learn(page):
    confusion = confusion_matrix(PREDICTED, TRUE, N_CLASSES)
    precision, recall, f1 = page["per_class_scores"](confusion)
    expected = precision_recall_fscore_support(
        TRUE, PREDICTED, labels=range(N_CLASSES), zero_division=0
    )
    for mine, theirs in zip((precision, recall, f1), expected[:3], strict=True):
        torch.testing.assert_close(mine, torch.tensor(theirs, dtype=torch.float64))


def test_macro_and_micro_averages_match_scikit_learn(page):
    scores = page["averages"](confusion_matrix(PREDICTED, TRUE, N_CLASSES))
    labels = list(range(N_CLASSES))
    for average, key in (("macro", "macro F1"), ("micro", "micro F1")):
        expected = f1_score(TRUE, PREDICTED, labels=labels, average=average, zero_division=0)
        assert scores[key] == pytest.approx(expected)
    p, r, _, _ = precision_recall_fscore_support(
        TRUE, PREDICTED, labels=labels, average="macro", zero_division=0
    )
    assert scores["macro precision"] == pytest.approx(p)
    assert scores["macro recall"] == pytest.approx(r)


def test_the_baseline_guesses_the_largest_training_language(page):
    splits, languages = page["splits"], page["LANGUAGES"]
    largest = max(languages, key=lambda lang: sum(lang == x for _, x in splits.train))
    assert languages[page["majority"]] == largest == "Russian"


def test_the_page_does_not_read_the_test_set(page):
    # The section scores its test set once, on the class-weights page.
    assert "test_names" not in page and "test_y" not in page
