"""The three linear regression pages: one data set, and the pieces each page builds.

Each page checks its own fit against least squares as it runs; these tests check the
pieces that fit rests on against hand-computed answers.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

PAGES = {
    level: f"regression/plot_linear_regression_{level}.py"
    for level in ("autograd", "minibatch", "nn")
}


def test_the_three_pages_fit_the_same_points(gallery_page):
    # The first page's prose: "the first of three pages on the same data".
    first, *others = (gallery_page(page)["data"] for page in PAGES.values())
    for data in others:
        assert torch.equal(data.x, first.x)
        assert torch.equal(data.y, first.y)


def test_full_batch_descent_contracts_each_direction_by_its_own_factor(gallery_page):
    # Inputs of mean 0 decouple w and b. With mean(x^2) = 4 and rate 0.1 each step
    # multiplies w's distance to its optimum by 1 - 2 * 0.1 * 4 = 0.2 and b's by
    # 1 - 2 * 0.1 = 0.8. Here the optimum is w = 1, b = 3, and the loss before step k
    # (from 1) is 4 * 0.2^(2(k-1)) + 9 * 0.8^(2(k-1)).
    train_full_batch = gallery_page(PAGES["autograd"])["train_full_batch"]
    inputs, targets = torch.tensor([-2.0, 2.0]), torch.tensor([1.0, 5.0])
    params, losses = train_full_batch(inputs, targets, learning_rate=0.1, n_epochs=5)
    for k, ((w, b), loss) in enumerate(zip(params, losses, strict=True), start=1):
        assert w == pytest.approx(1 - 0.2**k, rel=1e-5)
        assert b == pytest.approx(3 * (1 - 0.8**k), rel=1e-5)
        assert loss == pytest.approx(4 * 0.04 ** (k - 1) + 9 * 0.64 ** (k - 1), rel=1e-5)


def test_the_points_dataset_hands_each_pair_to_one_batch_per_epoch(gallery_page):
    points_dataset = gallery_page(PAGES["minibatch"])["PointsDataset"]
    inputs = torch.arange(23.0)
    dataset = points_dataset(inputs, 10 * inputs)
    assert len(dataset) == 23
    batches = list(DataLoader(dataset, batch_size=4, shuffle=True))
    seen_x = torch.cat([x for x, _ in batches])
    seen_y = torch.cat([y for _, y in batches])
    assert torch.equal(seen_y, 10 * seen_x)  # each target stays with its input
    assert torch.equal(seen_x.sort().values, inputs)  # every point exactly once
    with pytest.raises(ValueError, match="shapes differ"):
        points_dataset(inputs, inputs[:-1])


def test_the_nn_page_decays_the_rate_as_the_minibatch_page_does(gallery_page):
    # The minibatch page writes the schedule out: LEARNING_RATE * (1 - epoch / N_EPOCHS).
    page = gallery_page(PAGES["nn"])
    rate, n_epochs, scheduler = page["LEARNING_RATE"], page["N_EPOCHS"], page["scheduler"]
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=rate)
    replay = type(scheduler)(
        optimizer,
        start_factor=scheduler.start_factor,
        end_factor=scheduler.end_factor,
        total_iters=scheduler.total_iters,
    )
    for epoch in range(n_epochs):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(rate * (1 - epoch / n_epochs))
        optimizer.step()
        replay.step()
