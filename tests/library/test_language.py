import math

import pytest
import torch
from torch import nn

from pytorch_examples.data.names import CharVocabulary, context_pairs
from pytorch_examples.evaluation import evaluate
from pytorch_examples.language import bigram_counts, sample_names, uniform_loss

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"]


@pytest.fixture
def vocab():
    return CharVocabulary()


def test_bigram_counts_count_every_pair(vocab):
    contexts, targets = context_pairs(["ava", "bo"], vocab, context_length=1)
    counts = bigram_counts(contexts, targets, len(vocab))
    a, b, o, v, dot = (vocab.encode(c)[0] for c in "abov.")
    assert counts.sum() == 4 + 3
    assert counts[dot, a] == 1 and counts[a, v] == 1 and counts[v, a] == 1
    assert counts[a, dot] == 1 and counts[dot, b] == 1 and counts[o, dot] == 1


def test_bigram_counts_reject_mismatched_inputs():
    with pytest.raises(ValueError, match="one previous character per target"):
        bigram_counts(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, dtype=torch.long), 27)


def test_a_uniform_model_scores_ln_27(vocab):
    contexts, targets = context_pairs(NAMES, vocab, context_length=3)
    uniform = lambda batch: torch.zeros(len(batch), len(vocab))  # noqa: E731
    assert evaluate(uniform, contexts, targets, batch_size=7).loss == pytest.approx(
        math.log(27), abs=1e-6
    )
    assert uniform_loss(27) == pytest.approx(math.log(27))


def small_model(vocab_size: int, context_length: int = 3) -> nn.Module:
    """A next-character model with batch norm, whose mode matters when sampling."""
    return nn.Sequential(
        nn.Embedding(vocab_size, 4),
        nn.Flatten(),
        nn.Linear(4 * context_length, 16),
        nn.BatchNorm1d(16),
        nn.Tanh(),
        nn.Linear(16, vocab_size),
    )


def test_sampling_is_reproducible_with_a_seeded_generator(vocab):
    model = small_model(len(vocab))
    draw = lambda seed: sample_names(  # noqa: E731
        model, vocab, 10, 3, generator=torch.Generator().manual_seed(seed)
    )
    first = draw(0)
    assert first == draw(0)
    assert first != draw(1)
    assert len(first) == 10
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz") for name in first)


def test_sampling_follows_the_model(vocab):
    # A model that always says "b" after anything but "b", and "." after "b".
    def always_b_then_stop(contexts):
        logits = torch.full((len(contexts), len(vocab)), -1e9)
        last_is_b = contexts[:, -1] == vocab.encode("b")[0]
        logits[~last_is_b, vocab.encode("b")[0]] = 0.0
        logits[last_is_b, 0] = 0.0
        return logits

    names = sample_names(always_b_then_stop, vocab, 3, 2, generator=torch.Generator())
    assert names == ["b", "b", "b"]


def test_sampling_runs_in_eval_mode_and_restores_the_mode(vocab):
    model = small_model(len(vocab))
    modes = []
    model.register_forward_hook(lambda module, args, output: modes.append(module.training))
    sample_names(model, vocab, 4, 3, generator=torch.Generator().manual_seed(0))
    assert modes
    assert not any(modes)
    assert model.training
