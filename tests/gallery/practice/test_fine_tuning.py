"""The fine-tuning page: frozen parts, parameter groups, the rate and method rules, its file."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.comparison import accuracy_difference
from pytorch_examples.evaluation import eval_mode
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_fine_tuning.py"


@pytest.fixture(scope="module")
def first(gallery_page):
    return gallery_page("practice/plot_pretraining.py")  # pretrains and saves


@pytest.fixture(scope="module")
def page(gallery_page, first):
    return gallery_page(PAGE)


def test_run_alone_it_says_to_run_the_pretraining_page_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_pretraining\.py first"):
        run_page(GALLERY / PAGE)


def test_it_adapts_the_pretrained_network_on_the_pretraining_pages_splits(first, page):
    expected = first["pretrained"].state_dict()
    loaded = page["pretrained"].state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in expected.items())
    for name in ("target_images", "target_labels", "val_images", "val_labels"):
        assert torch.equal(page[name], first[name]), name


def test_a_frozen_body_and_its_batch_norm_statistics_do_not_change(page, body_state):
    pretrained = body_state(page["pretrained"].body)
    for lr in page["PEAK_RATES"]:
        trained = body_state(page["trained"]["linear probe", lr].body)
        assert trained.keys() == pretrained.keys()
        for key, value in pretrained.items():
            torch.testing.assert_close(trained[key], value, rtol=0, atol=0, msg=key)


def test_full_fine_tuning_changes_the_body_and_its_statistics(page, body_state):
    # The test above can fail: without evaluation mode, the statistics would move.
    pretrained = body_state(page["pretrained"].body)
    trained = body_state(page["trained"]["full fine-tuning", page["PEAK_RATES"][0]].body)
    changed = {key for key, value in pretrained.items() if not torch.equal(trained[key], value)}
    assert any(key.endswith("running_mean") for key in changed)
    assert any(key.endswith(".weight") for key in changed)


def test_from_scratch_draws_every_weight_anew_and_resets_the_statistics(page):
    torch.manual_seed(3)
    model, _, frozen = page["setup"]("from scratch", 0.1)
    assert frozen is None
    pretrained = dict(page["pretrained"].named_parameters())
    for name, parameter in model.named_parameters():
        if name.startswith("body.") and name.endswith("weight") and parameter.dim() > 1:
            assert not torch.equal(parameter, pretrained[name]), name
            # PyTorch's default for a convolution: uniform within 1 / sqrt(fan_in).
            assert parameter.abs().max() <= 1 / parameter[0].numel() ** 0.5
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            assert torch.equal(layer.running_mean, torch.zeros_like(layer.running_mean))
            assert torch.equal(layer.running_var, torch.ones_like(layer.running_var))
            assert torch.equal(layer.weight, torch.ones_like(layer.weight))


def test_scoring_in_smaller_batches_gives_the_same_predictions(page):
    # The torchvision page's block scores 224-pixel images with a smaller batch.
    model = page["trained"]["full fine-tuning", page["PEAK_RATES"][0]]
    images, labels = page["val_images"], page["val_labels"]
    sizes = []

    def recording(batch):
        sizes.append(len(batch))
        return model(batch)

    with eval_mode(model):  # a plain function does not set the mode itself
        in_sevens = page["score"](recording, images, labels, batch_size=7)
    assert max(sizes) == 7 and sum(sizes) == len(labels)
    assert torch.equal(in_sevens.predictions, page["score"](model, images, labels).predictions)


def test_the_lower_early_rates_groups_hold_each_stage_at_its_rate(page):
    model, optimizer, frozen = page["setup"]("lower early rates", 0.3)
    assert frozen is None
    stages = [model.body[i] for i in range(len(page["EARLY_LR_FACTORS"]))]
    expected = [
        (list(stage.parameters()), 0.3 * factor)
        for stage, factor in zip(stages, page["EARLY_LR_FACTORS"], strict=True)
    ] + [(list(model.head.parameters()), 0.3)]
    assert len(optimizer.param_groups) == len(expected)
    for group, (params, lr) in zip(optimizer.param_groups, expected, strict=True):
        assert [id(p) for p in group["params"]] == [id(p) for p in params]
        assert group["lr"] == pytest.approx(lr)
    in_groups = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_groups == {id(p) for p in model.parameters()}


def test_the_trainable_parameter_counts_match_the_pretraining_pages_network(first, page):
    n_classes = len(first["TARGET_CLASSES"])
    head = first["WIDTHS"][-1] * n_classes + n_classes
    assert page["n_trainable"] == {
        "from scratch": first["n_body"] + head,
        "linear probe": head,
        "full fine-tuning": first["n_body"] + head,
        "lower early rates": first["n_body"] + head,
    }


def nested(n_right, n=400):
    """Predictions of class 0 for the first n_right of n examples, class 1 for the rest."""
    return torch.cat([torch.zeros(n_right), torch.ones(n - n_right)]).long()


def test_the_rate_rule_keeps_the_most_accurate_rate_and_the_first_of_equals(page):
    choose_rate, labels = page["choose_rate"], torch.zeros(400, dtype=torch.long)
    assert choose_rate({0.1: nested(200), 0.3: nested(260), 1.0: nested(250)}, labels) == 0.3
    assert choose_rate({0.1: nested(301), 0.3: nested(260), 1.0: nested(300)}, labels) == 0.1
    assert choose_rate({0.1: nested(200), 0.3: nested(300), 1.0: nested(300)}, labels) == 0.3
    assert choose_rate({0.1: nested(200), 0.3: nested(299), 1.0: nested(300)}, labels) == 1.0


def test_each_method_keeps_the_rate_most_accurate_on_validation(page):
    labels = page["val_labels"]
    for method, kept in page["rates"].items():
        accuracy = {
            lr: (page["val_predictions"][method, lr] == labels).float().mean().item()
            for lr in page["PEAK_RATES"]
        }
        assert accuracy[kept] == max(accuracy.values()), method


def test_the_chosen_method_is_the_smallest_pretrained_one_within_noise_of_the_best(page):
    labels, n_trainable = page["val_labels"], page["n_trainable"]
    predictions = {
        method: page["val_predictions"][method, page["rates"][method]]
        for method in page["METHODS"]
        if method != "from scratch"
    }
    right = {method: (p == labels).sum().item() for method, p in predictions.items()}
    best = max(right, key=right.get)
    tied = [
        method
        for method in predictions
        if accuracy_difference(predictions[method], predictions[best], labels).within_noise()
    ]
    smallest = min(n_trainable[method] for method in tied)
    assert page["chosen"] == next(m for m in tied if n_trainable[m] == smallest)


def test_the_saved_file_holds_the_choices_and_nothing_of_the_test_set(first, page):
    saved = torch.load(page["saved_to"], weights_only=True)
    assert saved["chosen"] == page["chosen"] and saved["rates"] == page["rates"]
    for method, kept in page["rates"].items():
        assert torch.equal(saved["val_predictions"][method], page["val_predictions"][method, kept])
    assert saved["settings"]["peak_rates"] == page["PEAK_RATES"]
    test_tensors = (first["test_index"], first["test_labels"])
    assert not any(
        torch.equal(tensor, test_tensor)
        for tensor in tensors_in(saved)
        for test_tensor in test_tensors
        if tensor.shape == test_tensor.shape
    )


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


def test_the_test_minus_validation_gap_has_the_standard_error_of_two_independent_means(page):
    # By hand: each accuracy p of n images has variance p * (1 - p) / (n - 1).
    parts = []
    for predictions, labels in (
        (page["tested"][page["chosen"]], page["test_labels"]),
        (page["chosen_predictions"][page["chosen"]], page["val_labels"]),
    ):
        p, n = (predictions == labels).double().mean().item(), len(labels)
        parts.append((p, p * (1 - p) / (n - 1)))
    (p_test, var_test), (p_val, var_val) = parts
    assert page["optimism"].difference == pytest.approx(p_test - p_val, abs=1e-6)
    assert page["optimism"].standard_error == pytest.approx((var_test + var_val) ** 0.5)
