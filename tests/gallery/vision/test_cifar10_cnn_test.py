"""The page that chooses between the CNN page's two networks and scores the test set.

It runs after the CNN page's small run (same session), on the networks that run saved.
"""

from __future__ import annotations

import ast
from collections import Counter

import pytest
import torch
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.results import MissingResultsError

PAGE = "vision/plot_cifar10_cnn_test.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    gallery_page("vision/plot_cifar10_cnn.py")  # trains and saves the two networks
    return gallery_page(PAGE)


def test_run_alone_it_says_to_run_the_cnn_page_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_cifar10_cnn\.py first"):
        run_page(GALLERY / PAGE)


def test_the_saved_networks_are_the_ones_the_cnn_page_trained(gallery_page, page):
    trained = {
        name: run[0] for name, run in gallery_page("vision/plot_cifar10_cnn.py")["runs"].items()
    }
    loaded = page["networks"]
    assert set(loaded) == set(trained) == {"augmented", "plain"}
    for name, model in loaded.items():
        expected = trained[name].state_dict()
        assert all(torch.equal(value, expected[key]) for key, value in model.state_dict().items())


def test_mirror_scoring_averages_the_two_passes_and_keeps_the_training_mode(page):
    model, images, labels = page["model"], page["val_images"][:50], page["val_labels"][:50]
    model.train()
    evaluation = page["score"](model, images, labels, "float32", mirror=True)
    assert model.training
    mean, std = page["trained"]["mean"], page["trained"]["std"]
    x = (images.float() / 255 - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    model.eval()
    with torch.no_grad():
        logits = (model(x) + model(x.flip(3))) / 2
    model.train()
    assert torch.equal(evaluation.predictions, logits.argmax(dim=1))
    assert evaluation.loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-4)


def test_every_tied_most_common_confusion_is_named(page):
    truth, predicted = page["data"].test.labels.tolist(), page["predicted"].tolist()
    counts = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    most = max(counts.values())
    classes = page["CLASSES"]
    expected = {
        f"{classes[t]} taken for {classes[p]}" for (t, p), c in counts.items() if c == most
    }
    assert set(page["confusions"]) == expected and page["most"] == most


def test_the_gap_is_measured_on_training_images_apart_from_validation(page):
    seen, val = page["trained"]["seen_index"].tolist(), page["trained"]["val_index"].tolist()
    assert len(seen) == len(set(seen)) and not set(seen) & set(val)


def test_the_test_set_is_scored_once():
    calls = [
        node
        for node in ast.walk(ast.parse((GALLERY / PAGE).read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("evaluate", "score")
        and "data.test" in ast.unparse(node)
    ]
    assert len(calls) == 1
