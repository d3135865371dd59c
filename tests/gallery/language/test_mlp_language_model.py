"""The MLP page: its model class on a tiny batch, and what the page records."""

from __future__ import annotations

import ast
import math

import pytest
import torch
from torch.nn import functional as F

from pages import GALLERY

MLP = GALLERY / "language" / "plot_mlp_language_model.py"


@pytest.fixture
def mlp_class():
    """The page's model class, executed alone with the page's imports."""
    tree = ast.parse(MLP.read_text(), filename=str(MLP))
    body = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    body += [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MLPLanguageModel"]
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(MLP), "exec"), namespace)
    return namespace["MLPLanguageModel"]


def test_the_mlp_maps_contexts_to_logits(mlp_class):
    torch.manual_seed(0)
    model = mlp_class(vocab_size=27, context_length=8, embedding_dim=4, hidden_dim=16)
    contexts = torch.randint(0, 27, (5, 8))
    assert model(contexts).shape == (5, 27)
    model.eval()
    assert model(contexts[:1]).shape == (1, 27)  # evaluation mode takes a batch of one


def test_the_mlp_hidden_layer_has_no_bias_and_batch_norm_follows_it(mlp_class):
    model = mlp_class(vocab_size=27, context_length=8, embedding_dim=4, hidden_dim=16)
    linear, norm = model.hidden[0], model.hidden[1]
    assert isinstance(linear, torch.nn.Linear) and linear.bias is None
    assert isinstance(norm, torch.nn.BatchNorm1d)


def test_the_mlp_starts_near_uniform_and_one_step_lowers_the_loss(mlp_class):
    torch.manual_seed(0)
    model = mlp_class(vocab_size=27, context_length=3, embedding_dim=4, hidden_dim=16)
    contexts = torch.randint(0, 27, (64, 3))
    targets = torch.randint(0, 27, (64,))
    before = F.cross_entropy(model(contexts), targets)
    assert before.item() == pytest.approx(math.log(27), abs=0.1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    assert F.cross_entropy(model(contexts), targets).item() < before.item()


def test_the_mlp_page_records_the_loss_and_prefix_length_of_each_validation_pair(
    gallery_page, recorded
):
    run = gallery_page("language/plot_mlp_language_model.py")
    record = recorded("language/plot_mlp_language_model.py")
    val_x, val_y, model = run["val_x"], run["val_y"], run["model"]
    window = record["context_length"]
    assert window == val_x.shape[1]
    losses = torch.tensor(record["val_losses"])
    positions = torch.tensor(record["val_positions"])
    assert len(losses) == len(positions) == len(val_x)
    model.eval()
    with torch.no_grad():
        expected = F.cross_entropy(model(val_x[:50]), val_y[:50], reduction="none")
    torch.testing.assert_close(losses[:50], expected)
    assert losses.double().mean().item() == pytest.approx(record["val_loss"], rel=1e-5)
    # A pair's context holds the letters before it, up to the window, after boundary symbols.
    boundary = run["vocab"].encode(".")[0]
    assert torch.equal((val_x != boundary).sum(dim=1), positions.clamp(max=window))
    assert ((positions < window) == (val_x[:, 0] == boundary)).all()
