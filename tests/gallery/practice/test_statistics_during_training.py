"""The page on statistics during training: its rate, its hooks, its records.

It runs after the range-test page's small run (same session), at the rate that run saved.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.results import MissingResultsError, record_result

PAGE = "practice/plot_statistics_during_training.py"


@pytest.fixture(scope="module")
def page(gallery_page, range_test):
    return gallery_page(PAGE)


def test_run_alone_it_says_to_run_the_range_test_page_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_learning_rate_range_test\.py"):
        run_page(GALLERY / PAGE)


def test_a_rate_saved_for_another_network_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    settings = dict(depth=8, width=64, batch_size=64, momentum=0.9, seed=0)  # page: width 128
    record_result("plot_learning_rate_range_test", chosen_rate=0.01, **settings)
    with pytest.raises(MissingResultsError, match="other settings"):
        run_page(GALLERY / PAGE)


def test_the_runs_use_the_rate_the_range_test_chose(page, range_test):
    chosen = range_test["picked"] * range_test["chosen"]
    assert page["GOOD_RATE"] == pytest.approx(chosen, rel=1e-12)
    assert page["HIGH_RATE"] == pytest.approx(page["HIGH_FACTOR"] * chosen, rel=1e-12)
    assert page["RUNS"]["He, chosen rate"][2] == page["GOOD_RATE"]


def test_the_baseline_network_is_the_range_test_s(page, range_test):
    ours, theirs = page["make_mlp"]("He"), range_test["make_mlp"]()
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for name, reference in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[name], reference, rtol=0, atol=0)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_hooks_record_what_a_manual_pass_computes(page, batch_norm, relu_statistics):
    data = page["data"]
    x, y = data.train_x[:64], data.train_y[:64]
    model = page["make_mlp"]("default", batch_norm)
    statistics = page["LayerStatistics"](model)
    F.cross_entropy(model(x), y).backward()
    statistics.remove()
    rms, grad_rms, dead, _ = relu_statistics(model, x, y)
    assert len(rms) == page["DEPTH"]
    assert [layer[0] for layer in statistics.activation_rms] == pytest.approx(rms, rel=1e-5)
    assert [layer[0] for layer in statistics.gradient_rms] == pytest.approx(grad_rms, rel=1e-4)
    assert [layer[0] for layer in statistics.dead_fraction] == pytest.approx(dead)
    assert all(len(layer) == 1 for layer in statistics.gradient_rms)  # one pass, one record


def test_every_training_run_recorded_each_step_and_layer(page):
    for name, (_, statistics) in page["trained"].items():
        assert len(page["losses"][name]) == page["N_STEPS"]
        assert len(page["update_ratios"][name]) == page["N_STEPS"]
        assert all(len(ratios) == page["DEPTH"] for ratios in page["update_ratios"][name])
        for records in (statistics.activation_rms, statistics.gradient_rms):
            assert [len(layer) for layer in records] == [page["N_STEPS"]] * page["DEPTH"]


def test_the_first_update_ratio_is_the_rate_times_the_gradient_over_the_weights(page):
    # At step 1 the momentum buffer is empty, so SGD moves W by rate * gradient exactly.
    data = page["data"]
    batches = torch.Generator().manual_seed(page["SEED"])
    batch = torch.randint(len(data.train_y), (page["BATCH_SIZE"],), generator=batches)
    model = page["make_mlp"]("He")
    linears = [m for m in model if isinstance(m, nn.Linear)][: page["DEPTH"]]
    loss = F.cross_entropy(model(data.train_x[batch]), data.train_y[batch])
    gradients = torch.autograd.grad(loss, [linear.weight for linear in linears])
    expected = [
        page["GOOD_RATE"] * g.norm().item() / linear.weight.norm().item()
        for g, linear in zip(gradients, linears, strict=True)
    ]
    assert page["update_ratios"]["He, chosen rate"][0] == pytest.approx(expected, rel=1e-4)


def test_no_gradient_reaches_the_layers_below_a_dead_layer(page):
    # Every unit of the last hidden layer made negative on every image: the hooks must see
    # that layer dead, a gradient at its output and none at any layer below it.
    model, last = page["make_mlp"]("He"), page["DEPTH"] - 1
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        linears[last].weight.zero_()
        linears[last].bias.fill_(-1.0)
    statistics = page["LayerStatistics"](model)
    data = page["data"]
    F.cross_entropy(model(data.train_x[:64]), data.train_y[:64]).backward()
    statistics.remove()
    assert statistics.dead_fraction[last] == [1.0]
    assert all(layer[0] < 1 for layer in statistics.dead_fraction[:last])
    assert statistics.gradient_rms[last][0] > 0
    assert [layer[0] for layer in statistics.gradient_rms[:last]] == [0.0] * last
