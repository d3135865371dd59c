"""The comparison page, run on records made up here: what it shows and when it stops."""

from __future__ import annotations

import math

import pytest
import torch

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.claims import ClaimError

COMPARED = GALLERY / "language" / "plot_language_models_compared.py"


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


def test_the_comparison_stops_when_the_gru_and_the_transformer_differ(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    # A transformer far below the GRU on every prediction: no longer a tie.
    losses = [*NETWORK_LOSSES[:2], made_up_losses(-0.4, -0.4, 2)]
    record_every_page(PAGES, network_losses=losses)
    with pytest.raises(ClaimError, match="the transformer and the GRU are within noise"):
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
