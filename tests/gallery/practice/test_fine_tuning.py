"""The fine-tuning page: its splits, frozen parts, parameter groups, choice rule and saved file."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from pytorch_examples.evaluation import eval_mode


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("practice/plot_fine_tuning.py")


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


def test_a_frozen_body_and_its_batch_norm_statistics_do_not_change(page, body_state):
    pretrained = body_state(page["pretrained"].body)
    trained = body_state(page["trained"]["linear probe"].body)
    assert trained.keys() == pretrained.keys()
    for key, value in pretrained.items():
        torch.testing.assert_close(trained[key], value, rtol=0, atol=0, msg=key)


def test_full_fine_tuning_changes_the_body_and_its_statistics(page, body_state):
    # The test above can fail: without evaluation mode, the statistics would move.
    pretrained = body_state(page["pretrained"].body)
    trained = body_state(page["trained"]["full fine-tuning"].body)
    changed = {key for key, value in pretrained.items() if not torch.equal(trained[key], value)}
    assert any(key.endswith("running_mean") for key in changed)
    assert any(key.endswith(".weight") for key in changed)


def test_scoring_in_smaller_batches_gives_the_same_predictions(page):
    # The torchvision block scores 224-pixel images with a smaller batch than the default.
    model, images, labels = (
        page["trained"]["full fine-tuning"],
        page["val_images"],
        page["val_labels"],
    )
    sizes = []

    def recording(batch):
        sizes.append(len(batch))
        return model(batch)

    with eval_mode(model):  # a plain function does not set the mode itself
        in_sevens = page["score"](recording, images, labels, batch_size=7)
    assert max(sizes) == 7 and sum(sizes) == len(labels)
    assert torch.equal(in_sevens.predictions, page["score"](model, images, labels).predictions)


def test_the_lower_early_rates_groups_hold_each_stage_at_its_rate(page):
    model, optimizer, frozen = page["setup"]("lower early rates")
    assert frozen is None
    stages = [model.body[i] for i in range(len(page["WIDTHS"]))]
    expected = [
        (list(stage.parameters()), page["TARGET_LR"] * factor)
        for stage, factor in zip(stages, page["EARLY_LR_FACTORS"], strict=True)
    ] + [(list(model.head.parameters()), page["TARGET_LR"])]
    assert len(optimizer.param_groups) == len(expected)
    for group, (params, lr) in zip(optimizer.param_groups, expected, strict=True):
        assert [id(p) for p in group["params"]] == [id(p) for p in params]
        assert group["lr"] == pytest.approx(lr)
    in_groups = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_groups == {id(p) for p in model.parameters()}


def test_the_trainable_parameter_counts_match_a_hand_count(page):
    widths, n_classes = page["WIDTHS"], len(page["TARGET_CLASSES"])
    convs = [(3, widths[0])]
    for in_channels, width in itertools.pairwise(widths):
        convs += [(in_channels, width), (width, width)]
    head = widths[-1] * n_classes + n_classes
    conv_weights = sum(9 * c_in * c_out for c_in, c_out in convs)
    batch_norms = sum(2 * c_out for _, c_out in convs)
    assert page["n_trainable"] == {
        "from scratch": conv_weights + batch_norms + head,
        "linear probe": head,
        "full fine-tuning": conv_weights + batch_norms + head,
        "lower early rates": conv_weights + batch_norms + head,
    }


def test_the_choice_rule(page):
    choose = page["choose"]
    labels = torch.zeros(400, dtype=torch.long)

    def predictions(n_right):  # the first n_right of 400 right, the rest wrong
        return torch.cat([torch.zeros(n_right), torch.ones(400 - n_right)]).long()

    counts = {"from scratch": 1000, "small": 10, "medium": 100, "large": 1000}

    def pick(right):
        return choose({m: predictions(n) for m, n in right.items()}, counts, labels)

    # Nested predictions: the gap's standard error is about sqrt(gap / 400).
    assert pick({"from scratch": 399, "small": 200, "medium": 300, "large": 302}) == "medium"
    assert pick({"from scratch": 100, "small": 300, "medium": 200, "large": 302}) == "small"
    assert pick({"from scratch": 100, "small": 100, "medium": 200, "large": 300}) == "large"
    assert pick({"from scratch": 100, "small": 300, "medium": 300, "large": 300}) == "small"


def test_the_saved_file_holds_the_pretrained_network_and_no_test_images(page):
    layers = [nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU]
    layers += [nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear]
    with torch.serialization.safe_globals(layers):
        saved = torch.load(page["saved"], weights_only=True)
    expected = page["pretrained"].state_dict()
    loaded = saved["pretrained"].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], value) for key, value in expected.items())
    assert saved["chosen"] == page["chosen"]
    for method, predictions in page["val_predictions"].items():
        assert torch.equal(saved["val_predictions"][method], predictions)
    # Nothing of the test set goes to the next page: no saved tensor is its indices or labels.
    test_tensors = (page["test_index"], page["test_labels"])
    assert not any(
        torch.equal(tensor, test_tensor)
        for tensor in tensors_in(saved)
        for test_tensor in test_tensors
        if tensor.shape == test_tensor.shape
    )
    assert any(torch.equal(tensor, page["val_index"]) for tensor in tensors_in(saved))


def tensors_in(value):
    """Every tensor inside nested dicts, lists and tuples."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from tensors_in(item)
