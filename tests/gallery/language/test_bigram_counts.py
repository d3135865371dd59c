"""The bigram page: its counts against a Counter of the pairs, its loss and its sampler."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
import torch
from torch.nn import functional as F


@pytest.fixture(scope="module")
def bigram(gallery_page):
    return gallery_page("language/plot_bigram_counts.py")


def test_bigram_counts_match_a_counter_of_the_training_pairs(bigram):
    expected = Counter()
    for name in bigram["splits"].train:
        expected.update(itertools.pairwise(f".{name}."))
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
