"""The language pages compute what their prose claims.

The bigram and softmax pages run in-process through :func:`pages.run_page` and their
namespaces are checked against independent references (a Python ``Counter`` of the
pairs, :func:`torch.nn.functional.cross_entropy`). The MLP page trains for a minute, so
its model class is taken from the page alone and tried on a tiny batch, and the page
runs once with a tiny model and a few steps (claims recorded, not enforced) to test
what it records.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

import pytorch_examples.claims
from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.claims import ClaimError

BIGRAM = GALLERY / "language" / "plot_bigram_counts.py"
SOFTMAX = GALLERY / "language" / "plot_softmax_bigram.py"
MLP = GALLERY / "language" / "plot_mlp_language_model.py"


def page_definitions(script: Path, *names: str) -> dict[str, object]:
    """Execute only a page's imports and the named top-level classes and functions."""
    tree = ast.parse(script.read_text(), filename=str(script))
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    definitions = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name in names
    ]
    missing = set(names) - {node.name for node in definitions}
    if missing:
        raise KeyError(f"{script.name} defines no {sorted(missing)}")
    module = ast.Module(body=imports + definitions, type_ignores=[])
    namespace: dict[str, object] = {"__name__": script.stem}
    exec(compile(module, str(script), "exec"), namespace)
    return namespace


# The bigram page ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bigram():
    return run_page(BIGRAM)


def test_bigram_counts_match_a_counter_of_the_training_pairs(bigram):
    expected = Counter()
    for name in bigram["splits"].train:
        padded = f".{name}."
        expected.update(itertools.pairwise(padded))
    vocab, counts = bigram["vocab"], bigram["counts"]
    assert counts.sum().item() == sum(expected.values())
    for (first, second), n in expected.items():
        assert counts[vocab.encode(first)[0], vocab.encode(second)[0]] == n
    assert (counts > 0).sum().item() == len(expected)


def test_bigram_average_nll_is_the_cross_entropy(bigram):
    probabilities, val_x, val_y = bigram["probabilities"], bigram["val_x"], bigram["val_y"]
    expected = F.cross_entropy(probabilities.log()[val_x[:, 0]], val_y).item()
    assert bigram["val_loss"] == pytest.approx(expected, rel=1e-5)
    assert bigram["uniform_loss"] == pytest.approx(math.log(27))


def test_the_sampling_loop_follows_the_table_and_stops_at_the_boundary(bigram):
    vocab, sample_name = bigram["vocab"], bigram["sample_name"]
    dot, a, b = vocab.encode(".ab")
    # Certain transitions: "." -> "a" -> "b" -> ".", so the only name is "ab".
    table = torch.zeros(len(vocab), len(vocab))
    table[dot, a] = table[a, b] = table[b, dot] = 1.0
    assert sample_name(table, torch.Generator().manual_seed(0)) == "ab"


def test_the_sampling_loop_draws_first_letters_from_the_start_row(bigram):
    vocab, probabilities = bigram["vocab"], bigram["probabilities"]
    generator = torch.Generator().manual_seed(0)
    names = [bigram["sample_name"](probabilities, generator) for _ in range(4000)]
    assert all(set(name) <= set(vocab.symbols[1:]) for name in names)
    first = Counter(name[0] if name else "." for name in names)
    observed = torch.tensor([first[symbol] for symbol in vocab.symbols]) / len(names)
    # A share p estimated from 4000 draws has standard error at most 0.008.
    assert (observed - probabilities[0]).abs().max() < 0.03


def test_the_bigram_page_samples_names_of_letters(bigram):
    assert len(bigram["samples"]) == bigram["N_SAMPLES"]
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz") for name in bigram["samples"])


# The softmax page --------------------------------------------------------------------


@pytest.fixture(scope="module")
def softmax():
    # The full number of steps, since the page's claims are about it; fewer strengths.
    return run_page(SOFTMAX, L2_STRENGTHS=(0.0, 1.0), SMOOTHING_COUNTS=(0.0, 1.0, 100.0))


def test_loss_from_counts_equals_the_cross_entropy_of_the_pairs(softmax):
    table = torch.randn(27, 27, generator=torch.Generator().manual_seed(0))
    train_x, train_y = softmax["train_x"], softmax["train_y"]
    expected = F.cross_entropy(table[train_x[:, 0]], train_y).item()
    actual = softmax["loss_from_counts"](table, softmax["train_counts"]).item()
    assert actual == pytest.approx(expected, rel=1e-5)


def test_the_softmax_layer_reaches_the_count_model(softmax):
    # The count model is the minimum: the layer approaches it from above.
    gap = softmax["losses"][-1] - softmax["count_model_loss"]
    assert 0 < gap < 0.005
    # On the validation names the layer scores like the add-one count model.
    layer, counts = softmax["layer"], softmax["train_counts"]
    with torch.no_grad():
        layer_val = softmax["loss_from_counts"](layer.weight.T, softmax["val_counts"]).item()
    smoothed = (counts + 1) / (counts + 1).sum(dim=1, keepdim=True)
    add_one_val = softmax["loss_from_counts"](smoothed.log(), softmax["val_counts"]).item()
    assert layer_val == pytest.approx(add_one_val, abs=0.002)


def test_the_softmax_page_check_fails_when_training_stops_early():
    with pytest.raises(ClaimError, match=r"within 0\.01 of the count model"):
        run_page(SOFTMAX, N_STEPS=100)


# The MLP page ------------------------------------------------------------------------


@pytest.fixture
def mlp_class():
    return page_definitions(MLP, "MLPLanguageModel")["MLPLanguageModel"]


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
    after = F.cross_entropy(model(contexts), targets)
    assert after.item() < before.item()


@pytest.fixture(scope="module")
def tiny_mlp_run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytorch_examples.claims, "check", lambda holds, claim: None)
        patch.setattr(results, "cache_dir", lambda: cache)
        namespace = run_page(
            MLP, EMBEDDING_DIM=4, HIDDEN_DIM=16, N_STEPS=20, EVAL_EVERY=10, N_SAMPLES=2
        )
        namespace["recorded"] = results.load_results([MLP.stem])[MLP.stem]
    return namespace


def test_the_mlp_page_records_the_loss_and_prefix_length_of_each_validation_pair(tiny_mlp_run):
    recorded, val_x = tiny_mlp_run["recorded"], tiny_mlp_run["val_x"]
    window = recorded["context_length"]
    assert window == val_x.shape[1]
    losses = torch.tensor(recorded["val_losses"])
    positions = torch.tensor(recorded["val_positions"])
    assert len(losses) == len(positions) == len(val_x)
    assert losses.double().mean().item() == pytest.approx(recorded["val_loss"], rel=1e-5)
    # A pair's context holds the letters before it, up to the window, after boundary symbols.
    boundary = tiny_mlp_run["vocab"].encode(".")[0]
    assert torch.equal((val_x != boundary).sum(dim=1), positions.clamp(max=window))
    assert ((positions < window) == (val_x[:, 0] == boundary)).all()
