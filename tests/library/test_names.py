import os
from pathlib import Path

import pytest
import torch

from pytorch_examples.data import names as names_module
from pytorch_examples.data.names import CharVocabulary, context_pairs, split_names


def test_vocabulary_has_boundary_first_then_letters():
    vocab = CharVocabulary()
    assert len(vocab) == 27
    assert vocab.symbols[0] == "."
    assert vocab.encode(".az") == [0, 1, 26]
    assert vocab.decode(torch.tensor([5, 13, 13, 1, 0])) == "emma."


def test_vocabulary_rejects_unknown_characters_and_indices():
    vocab = CharVocabulary()
    with pytest.raises(ValueError, match=r"\['A', '1'\]|\['1', 'A'\]"):
        vocab.encode("Ann1")
    with pytest.raises(ValueError, match=r"0\.\.26"):
        vocab.decode([27])


def test_context_pairs_of_one_name():
    vocab = CharVocabulary()
    contexts, targets = context_pairs(["emma"], vocab, context_length=3)
    assert [vocab.decode(c) for c in contexts] == ["...", "..e", ".em", "emm", "mma"]
    assert vocab.decode(targets) == "emma."
    assert contexts.dtype == targets.dtype == torch.long


def test_context_length_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        context_pairs(["ava"], CharVocabulary(), 0)


def test_split_is_deterministic_disjoint_and_covers_every_distinct_name():
    pool = [f"name{chr(97 + i % 26)}{i}" for i in range(1000)] + ["dup", "dup", "dup"]
    first = split_names(pool, seed=1)
    assert first == split_names(pool, seed=1)
    assert first != split_names(pool, seed=2)
    sets = [set(first.train), set(first.val), set(first.test)]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sets[0] | sets[1] | sets[2] == set(pool)
    assert (len(first.train), len(first.val), len(first.test)) == (800, 100, 101)


@pytest.mark.parametrize(
    "fractions", [(0.5, 0.5), (0.8, 0.1, 0.2), (1.0, 0.0, 0.0), (0.9, -0.1, 0.2)]
)
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_names(["a", "b", "c"], fractions)


def test_a_split_counts_distinct_names_and_needs_one_in_each_set():
    with pytest.raises(ValueError, match="2 items are too few"):
        split_names(["ava", "ava", "bo"])
    splits = split_names([f"name{i}" for i in range(10)] * 2)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (8, 1, 1)


@pytest.mark.skipif(
    not (Path(os.environ.get("PYTORCH_EXAMPLES_DATA", "/nonexistent")) / "names.txt").exists(),
    reason="PYTORCH_EXAMPLES_DATA does not hold names.txt",
)
def test_the_real_names_file_verifies_and_loads():
    names = names_module.load_names()
    assert len(names) == 32_033
    vocab = CharVocabulary()
    assert all(vocab.encode(name) for name in names[:1000])
