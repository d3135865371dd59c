"""The pretraining page: its splits, its network's two parts and the file it saves."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("practice/plot_pretraining.py")


def test_the_target_and_validation_splits_are_disjoint_and_balanced(page):
    train_labels = page["data"].train.labels
    classes, targets = page["CLASSES"], page["TARGET_CLASSES"]
    for index, labels, per_class in (
        (page["target_index"], page["target_labels"], page["N_TARGET_PER_CLASS"]),
        (page["val_index"], page["val_labels"], page["N_VAL_PER_CLASS"]),
    ):
        assert torch.bincount(labels).tolist() == [per_class] * len(targets)
        names = [classes[label] for label in train_labels[index].tolist()]
        assert names == [targets[label] for label in labels.tolist()]
        assert len(set(index.tolist())) == len(index)
    assert not set(page["target_index"].tolist()) & set(page["val_index"].tolist())
    source_index = page["source"][0]
    source_names = {classes[label] for label in train_labels[source_index].tolist()}
    assert source_names == set(page["SOURCE_CLASSES"])
    assert not source_names & set(targets)
    test_labels = page["data"].test.labels
    is_target = sum(test_labels == classes.index(name) for name in targets).bool()
    assert sorted(page["test_index"].tolist()) == is_target.nonzero().flatten().tolist()
    names = [classes[label] for label in test_labels[page["test_index"]].tolist()]
    assert names == [targets[label] for label in page["test_labels"].tolist()]


def test_the_network_has_a_body_of_features_and_a_replaceable_head(page):
    model, widths = page["new_model"](3), page["WIDTHS"]
    with torch.no_grad():
        features = model.body(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, widths[-1])
    assert isinstance(model.head, nn.Linear) and model.head.out_features == 3
    convs = [(3, widths[0])]
    for in_channels, width in itertools.pairwise(widths):
        convs += [(in_channels, width), (width, width)]
    by_hand = sum(9 * c_in * c_out + 2 * c_out for c_in, c_out in convs)  # weights, batch norm
    assert page["n_body"] == by_hand
    assert page["n_head"] == (widths[-1] + 1) * len(page["SOURCE_CLASSES"])


def test_the_saved_file_holds_the_pretrained_network_and_the_splits(page):
    with torch.serialization.safe_globals(LAYERS):
        saved = torch.load(page["saved"], weights_only=True)
    expected = page["pretrained"].state_dict()
    loaded = saved["pretrained"].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], value) for key, value in expected.items())
    for split, (index, labels) in saved["splits"].items():
        assert torch.equal(index, page[f"{split}_index"]), split
        assert torch.equal(labels, page[f"{split}_labels"]), split
    torch.testing.assert_close(saved["mean"], page["source"][1].float().mean((0, 2, 3)) / 255)


LAYERS = [nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU]
LAYERS += [nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear]
