"""The recurrent-step page: its written-out updates against PyTorch's layers."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def step_page(gallery_page):
    return gallery_page("language/plot_recurrent_step.py")


@pytest.mark.parametrize(
    ("layer_class", "step"), [(torch.nn.RNN, "rnn_step"), (torch.nn.GRU, "gru_step")]
)
@pytest.mark.parametrize(("input_dim", "hidden_dim"), [(4, 6), (3, 1)])
def test_the_written_out_steps_match_pytorch(step_page, layer_class, step, input_dim, hidden_dim):
    # Other sizes than the page's, and a first state that is not zero.
    layer = layer_class(input_dim, hidden_dim, batch_first=True)
    x, h0 = torch.randn(2, 5, input_dim), torch.randn(2, hidden_dim)
    ours, h = [], h0
    for t in range(5):
        h = step_page[step](layer, x[:, t], h)
        ours.append(h)
    with torch.no_grad():
        theirs = layer(x, h0[None])[0]
    torch.testing.assert_close(torch.stack(ours, dim=1), theirs)
