"""The sequence-model pages: a recurrent network, self-attention, a GPT, the comparison.

The self-attention page runs as written (it trains nothing). The two training pages run
in-process through :func:`pages.run_page` with tiny models
and a few steps; their ``check`` calls are recorded instead of enforced (a tiny run
proves nothing about the full run's claims) and their results go to a temporary
directory. The tests then try the pages' own models, losses and samplers on small
inputs. The comparison page runs on records written here.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import pytorch_examples.claims
from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.claims import ClaimError

RECURRENT = GALLERY / "language" / "plot_recurrent_network.py"
SELF_ATTENTION = GALLERY / "language" / "plot_self_attention.py"
TRANSFORMER = GALLERY / "language" / "plot_transformer.py"
COMPARED = GALLERY / "language" / "plot_language_models_compared.py"
METRICS = ("val_loss", "test_loss", "parameters", "training_seconds")
PER_PREDICTION = ("steps", "training_predictions", "val_losses", "val_positions")


def run_tiny(script, tmp_path_factory, **settings):
    """Run a page with ``settings``, claims recorded and results kept in a temporary dir."""
    claims = []
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pytorch_examples.claims, "check", lambda holds, claim: claims.append(claim))
        patch.setattr(results, "cache_dir", lambda: cache)
        namespace = run_page(script, **settings)
        namespace["recorded"] = results.load_results([script.stem])[script.stem]
    namespace["claims"] = claims
    return namespace


@pytest.fixture(scope="module")
def recurrent(tmp_path_factory):
    return run_tiny(
        RECURRENT,
        tmp_path_factory,
        EMBEDDING_DIM=8,
        HIDDEN_DIM=16,
        RNN_HIDDEN_DIM=24,
        N_STEPS=30,
        EVAL_EVERY=10,
        BATCH_SIZE=64,
        MAX_LEARNING_RATE=1e-2,
        N_SAMPLES=3,
    )


@pytest.fixture(scope="module")
def transformer(tmp_path_factory):
    return run_tiny(
        TRANSFORMER,
        tmp_path_factory,
        WIDTH=16,
        N_HEADS=2,
        N_LAYERS=1,
        N_STEPS=30,
        EVAL_EVERY=10,
        ROWS_PER_BATCH=16,
        MAX_LEARNING_RATE=1e-2,
        N_SAMPLES=3,
        N_COUNTED=30,
    )


@pytest.fixture(params=["recurrent", "transformer"])
def page(request, recurrent, transformer):
    return recurrent if request.param == "recurrent" else transformer


def is_recurrent(page):
    return "CharRNN" in page


def trained_model(page):
    return page["gru"] if is_recurrent(page) else page["model"]


def logits_of(page, tokens):
    """Logits of the page's trained model in evaluation mode, (batch, length, vocab)."""
    model = trained_model(page)
    model.eval()
    with torch.no_grad():
        output = model(tokens)
    return output[0] if is_recurrent(page) else output  # the GRU also returns its state


def test_the_pages_record_their_metrics(page):
    assert set(page["recorded"]) == set(METRICS + PER_PREDICTION)
    assert page["recorded"]["val_loss"] == pytest.approx(page["val_loss"])
    assert page["recorded"]["parameters"] == sum(
        p.numel() for p in trained_model(page).parameters()
    )
    assert page["recorded"]["steps"] == page["N_STEPS"]


def test_the_recorded_losses_are_the_validation_predictions_name_by_name(page):
    names, vocab, recorded = page["splits"].val, page["vocab"], page["recorded"]
    losses = torch.tensor(recorded["val_losses"])
    # One loss per predicted character, in the order of the MLP page's pairs.
    assert recorded["val_positions"] == [p for name in names for p in range(len(name) + 1)]
    assert losses.double().mean().item() == pytest.approx(page["val_loss"], rel=1e-6)
    # The first and the last validation names, each scored alone, give their losses.
    for name, start in ((names[0], 0), (names[-1], len(losses) - len(names[-1]) - 1)):
        tokens = torch.tensor([vocab.encode("." + name)])
        targets = torch.tensor(vocab.encode(name + "."))
        alone = F.cross_entropy(logits_of(page, tokens)[0], targets, reduction="none")
        torch.testing.assert_close(losses[start : start + len(name) + 1], alone)


def test_the_recurrent_page_counts_the_characters_its_gru_trained_on(recurrent):
    # Replay the GRU's batches: each predicts one character per letter, and the end.
    generator = torch.Generator().manual_seed(recurrent["SEED"])
    lengths = torch.tensor([len(name) + 1 for name in recurrent["splits"].train])
    expected = 0
    for _ in range(recurrent["N_STEPS"]):
        batch = torch.randint(0, len(lengths), (recurrent["BATCH_SIZE"],), generator=generator)
        expected += int(lengths[batch].sum())
    assert recurrent["recorded"]["training_predictions"] == expected


def test_the_loss_falls_over_a_few_steps(page):
    uniform = math.log(len(page["vocab"]))
    curve = page["gru_curve"] if is_recurrent(page) else page["val_curve"]
    assert len(curve) == 3
    assert curve[-1] < curve[0] < uniform + 0.5
    assert page["val_loss"] < uniform - 0.3


def test_logits_have_one_row_per_position(page):
    tokens = torch.randint(0, len(page["vocab"]), (5, 9))
    assert logits_of(page, tokens).shape == (5, 9, len(page["vocab"]))


def test_a_later_character_never_changes_earlier_logits(page):
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, len(page["vocab"]), (4, 12), generator=generator)
    for position in (3, 7, 11):
        changed = tokens.clone()
        changed[:, position:] = torch.randint(0, 27, (4, 12 - position), generator=generator)
        before, after = logits_of(page, tokens), logits_of(page, changed)
        assert torch.equal(before[:, :position], after[:, :position])
        assert not torch.equal(before[:, position:], after[:, position:])


NAMES = ["ava", "christopher", "li", "emma", "zoe", "maximiliano"]


def loss_one_name_at_a_time(page, names):
    """The mean loss of the names, each scored alone, unpadded."""
    total = 0.0
    for name in names:
        tokens = torch.tensor([page["vocab"].encode("." + name)])
        targets = torch.tensor(page["vocab"].encode(name + "."))
        total += F.cross_entropy(logits_of(page, tokens)[0], targets, reduction="sum").item()
    return total / sum(len(name) + 1 for name in names)


def test_padding_never_contributes_to_the_recurrent_loss(recurrent):
    model, ignore = recurrent["gru"], recurrent["IGNORE"]
    inputs, targets = recurrent["encode_names"](NAMES)
    assert int((targets == ignore).sum()) == targets.numel() - sum(len(n) + 1 for n in NAMES)
    loss = recurrent["mean_loss"](model, inputs, targets)
    assert loss == pytest.approx(loss_one_name_at_a_time(recurrent, NAMES), rel=1e-5)
    # Whatever the padded inputs hold, the loss is the same.
    scrambled = torch.where(targets == ignore, torch.randint_like(inputs, 27), inputs)
    assert recurrent["mean_loss"](model, scrambled, targets) == loss


def test_packed_names_score_as_if_each_were_alone(transformer):
    rows = transformer["pack_names"](NAMES, range(len(NAMES)))
    tokens, targets, positions, name_ids = rows
    assert tokens.shape[1] == transformer["ROW_LENGTH"]
    assert len(tokens) < len(NAMES)  # several names share a row
    assert int((targets != transformer["IGNORE"]).sum()) == sum(len(n) + 1 for n in NAMES)
    assert sorted(set(name_ids.flatten().tolist())) == [-1, *range(len(NAMES))]
    for index, name in enumerate(NAMES):  # each name starts again at position 0
        assert positions[name_ids == index].tolist() == list(range(len(name) + 1))
    loss = transformer["mean_loss"](transformer["model"], rows)
    assert loss == pytest.approx(loss_one_name_at_a_time(transformer, NAMES), rel=1e-5)
    # Neither the padding at the end of a row nor a neighbouring name changes the loss.
    padding = name_ids == -1
    scrambled = torch.where(padding, torch.randint_like(tokens, 27), tokens)
    reordered = transformer["pack_names"](NAMES, reversed(range(len(NAMES))))
    assert transformer["mean_loss"](transformer["model"], (scrambled, *rows[1:])) == loss
    assert transformer["mean_loss"](transformer["model"], reordered) == pytest.approx(loss)


def test_samples_are_names_that_start_with_the_prefix(page):
    generator = torch.Generator().manual_seed(1)
    model = trained_model(page)
    names = page["sample"](model, 20, temperature=0.8, prefix="jo", generator=generator)
    assert len(names) == 20
    assert all(name.startswith("jo") and name.isalpha() and name.islower() for name in names)


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf")])
def test_sampling_rejects_a_temperature_that_is_not_positive(page, temperature):
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        page["sample"](trained_model(page), 2, temperature=temperature, generator=generator)


@pytest.mark.parametrize("prefix", ["Emma", "zoé", "a.b", "x1"])
def test_sampling_rejects_an_unknown_character(page, prefix):
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"outside the vocabulary|letters a-z"):
        page["sample"](trained_model(page), 2, prefix=prefix, generator=generator)


def test_the_transformer_rejects_a_context_longer_than_its_positions(transformer):
    model, block_size = transformer["model"], transformer["BLOCK_SIZE"]
    generator = torch.Generator().manual_seed(0)
    assert logits_of(transformer, torch.zeros(1, block_size, dtype=torch.long)).shape[1] == 16
    with pytest.raises(ValueError, match=f"at most {block_size} positions"):
        model(torch.zeros(1, block_size + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="longer than"):
        transformer["sample"](model, 2, prefix="a" * block_size, generator=generator)
    # The longest prefix that fits still samples, and names stop at the model's reach.
    names = transformer["sample"](model, 3, prefix="a" * (block_size - 1), generator=generator)
    assert names == ["a" * (block_size - 1)] * 3


@pytest.fixture(scope="module")
def self_attention():
    return run_page(SELF_ATTENTION)


def causal_mask(length):
    return torch.ones(length, length, dtype=torch.bool).tril()


@pytest.mark.parametrize(("width", "n_heads", "length"), [(8, 2, 5), (12, 3, 7), (6, 1, 4)])
def test_the_written_out_heads_match_multihead_attention(self_attention, width, n_heads, length):
    layer = nn.MultiheadAttention(width, n_heads, batch_first=True)
    to_qkv = nn.Linear(width, 3 * width)
    with torch.no_grad():
        to_qkv.weight.copy_(layer.in_proj_weight)
        to_qkv.bias.copy_(layer.in_proj_bias)
        x = torch.randn(length, width)
        ours, weights = self_attention["multi_head_attention"](
            x, to_qkv, layer.out_proj, n_heads, causal_mask(length)
        )
        theirs, their_weights = layer(
            x[None], x[None], x[None], attn_mask=~causal_mask(length), average_attn_weights=False
        )
    torch.testing.assert_close(ours, theirs[0])
    torch.testing.assert_close(weights, their_weights[0])
    assert weights.shape == (n_heads, length, length)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(n_heads, length))


def test_written_out_attention_never_looks_ahead(self_attention):
    width, n_heads, length = 8, 2, 6
    to_qkv, mix = nn.Linear(width, 3 * width), nn.Linear(width, width)
    x = torch.randn(length, width)
    changed = x.clone()
    changed[4:] = torch.randn(2, width)
    with torch.no_grad():
        before, _ = self_attention["multi_head_attention"](x, to_qkv, mix, n_heads, causal_mask(6))
        after, _ = self_attention["multi_head_attention"](
            changed, to_qkv, mix, n_heads, causal_mask(6)
        )
    assert torch.equal(before[:4], after[:4]) and not torch.equal(before[4:], after[4:])


def test_the_self_attention_page_checks_its_claims(self_attention):
    assert self_attention["difference"] < 1e-6
    assert max(self_attention["differences"]) < 1e-6
    unscaled, scaled = self_attention["largest"][max(self_attention["HEAD_WIDTHS"])]
    assert unscaled > scaled


def test_the_packing_mask_is_causal_and_keeps_names_apart(transformer):
    name_ids = torch.tensor([[0, 0, 0, 0, 0, 0], [4, 4, 7, 7, 7, -1]])
    mask = transformer["allowed"](name_ids)
    assert mask.shape == (2, 1, 6, 6)
    assert torch.equal(mask[0, 0], causal_mask(6))
    assert not mask[1, 0, 2:5, :2].any()  # the second name never sees the first
    assert not mask[1, 0, 5, :5].any()  # nor does the padding
    assert mask[1, 0].diagonal().all()  # every position sees itself: no empty softmax row
    # The model's attention with this mask equals each name's attention on its own.
    attention = transformer["model"].blocks[0].attention
    x = torch.randn(1, 6, transformer["WIDTH"])
    with torch.no_grad():
        packed = attention(x, transformer["allowed"](torch.tensor([[4, 4, 7, 7, 7, -1]])))
        first = attention(x[:, :2], transformer["allowed"](torch.zeros(1, 2)))
        second = attention(x[:, 2:5], transformer["allowed"](torch.zeros(1, 3)))
    torch.testing.assert_close(packed[:, :5], torch.cat([first, second], dim=1))


def test_the_written_out_recurrent_steps_match_pytorch(recurrent):
    for layer_class, step in ((torch.nn.RNN, "rnn_step"), (torch.nn.GRU, "gru_step")):
        layer = layer_class(4, 6, batch_first=True)
        x = torch.randn(2, 5, 4)
        h, states = torch.zeros(2, 6), []
        for t in range(5):
            h = recurrent[step](layer, x[:, t], h)
            states.append(h)
        with torch.no_grad():
            torch.testing.assert_close(torch.stack(states, dim=1), layer(x)[0])


def test_the_pages_check_their_claims(recurrent, transformer):
    assert any("matches nn.GRU" in c or "nn.GRU's outputs" in c for c in recurrent["claims"])
    assert any("padding" in c for c in recurrent["claims"])
    assert any("other names in its row" in c for c in transformer["claims"])


# The comparison page -------------------------------------------------------------------


PAGES = ["plot_bigram_counts", "plot_softmax_bigram", "plot_mlp_language_model"]
PAGES += ["plot_recurrent_network", "plot_transformer"]
VAL_LOSSES = (2.454, 2.458, 1.99, 1.95, 1.96)
WINDOW = 8
# Made-up names of 3 to 9 letters: one prediction per letter and one for the end, 2 of
# every 64 beyond the window.
POSITIONS = [p for length in [3, 4, 5, 6, 7, 5, 6, 4, 9, 5] * 30 for p in range(length + 1)]


def made_up_losses(in_window, beyond, seed):
    """Per-prediction losses: a shared base, a shift in and beyond the window, noise."""
    generator = torch.Generator().manual_seed(seed)
    base = 1.0 + 2.0 * torch.rand(len(POSITIONS), generator=torch.Generator().manual_seed(0))
    shift = torch.where(torch.tensor(POSITIONS) < WINDOW, in_window, beyond)
    noise = 0.2 * torch.randn(len(POSITIONS), generator=generator) if seed else 0.0
    return (base + shift + noise).tolist()


# MLP, GRU and transformer: the GRU gains most beyond the window, the transformer evenly.
NETWORK_LOSSES = [made_up_losses(0.0, 0.0, 0), made_up_losses(-0.05, -0.3, 1)]
NETWORK_LOSSES.append(made_up_losses(-0.06, -0.06, 2))
# Steps and characters predicted by the MLP, GRU and transformer, unequal as on the site.
NETWORK_BUDGETS = [(2000, 20_000), (300, 15_000), (1500, 40_000)]


def record_every_page(
    pages, network_losses=NETWORK_LOSSES, positions=POSITIONS, budgets=NETWORK_BUDGETS
):
    for index, page in enumerate(pages):
        network = {}
        if index >= 2:
            steps, predictions = budgets[index - 2]
            network = {
                "steps": steps,
                "training_predictions": predictions,
                "val_losses": network_losses[index - 2],
                "val_positions": positions,
                "context_length": WINDOW,
            }
        results.record_result(
            page,
            val_loss=VAL_LOSSES[index],
            test_loss=VAL_LOSSES[index] + 0.01,
            parameters=729 * (index + 1),
            training_seconds=10.0 * index,
            **network,
        )


def test_the_comparison_shows_the_recorded_numbers(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    record_every_page(PAGES)
    namespace = run_page(COMPARED)
    assert namespace["val"] == list(VAL_LOSSES)
    assert namespace["gaps"] == pytest.approx([0.01] * 5)
    assert "1,458" in namespace["table"] and "1.990" in namespace["table"]
    # The MLP's steps and characters are in the budget table.
    assert ("MLP", "2,187", "2,000", "20,000", "20") in namespace["budget_rows"]


def test_the_comparison_splits_the_gain_at_the_mlp_window(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    record_every_page(PAGES)
    namespace = run_page(COMPARED)
    mlp, gru = (torch.tensor(losses) for losses in NETWORK_LOSSES[:2])
    in_window = torch.tensor(POSITIONS) < WINDOW
    gain = gru - mlp
    assert namespace["in_window_share"]["GRU"] == pytest.approx(
        (gain[in_window].sum() / gain.sum()).item(), rel=1e-5
    )
    beyond = namespace["gains"]["GRU"]["beyond"]
    assert beyond.count == int((~in_window).sum())
    assert beyond.difference == pytest.approx(gain[~in_window].mean().item(), rel=1e-5)
    # The standard error counts each made-up name once: sum the deviations name by name.
    lengths = [length + 1 for length in [3, 4, 5, 6, 7, 5, 6, 4, 9, 5] * 30]
    per_name = [part.sum() for part in (gain.double() - gain.double().mean()).split(lengths)]
    clustered = math.sqrt(len(lengths) / (len(lengths) - 1) * sum(t.item() ** 2 for t in per_name))
    expected = clustered / len(gain)
    assert namespace["gains"]["GRU"]["all"].standard_error == pytest.approx(expected, rel=1e-5)


def test_the_comparison_stops_when_the_budgets_differ_otherwise(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    # A GRU that predicted more training characters than the MLP.
    record_every_page(PAGES, budgets=[(2000, 20_000), (300, 25_000), (1500, 40_000)])
    with pytest.raises(ClaimError, match="predicted fewer training characters"):
        run_page(COMPARED)


def test_the_comparison_stops_on_a_claim_that_fails(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    # A GRU that gains on the MLP only beyond the window.
    losses = [NETWORK_LOSSES[0], made_up_losses(0.0, -0.3, 1), NETWORK_LOSSES[2]]
    record_every_page(PAGES, network_losses=losses)
    with pytest.raises(ClaimError, match="on the predictions in its window"):
        run_page(COMPARED)


def test_the_comparison_refuses_losses_of_other_predictions(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    record_every_page(PAGES)
    results.record_result(
        "plot_transformer",
        **{
            **results.load_results(["plot_transformer"])["plot_transformer"],
            "val_positions": POSITIONS[::-1],
        },
    )
    with pytest.raises(ValueError, match="plot_transformer recorded other validation"):
        run_page(COMPARED)


def test_the_comparison_names_the_pages_that_have_not_run(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    record_every_page(PAGES[:2])
    with pytest.raises(results.MissingResultsError, match="plot_mlp_language_model, plot_rec"):
        run_page(COMPARED)
