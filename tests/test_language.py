import math

import pytest
import torch
from torch.nn import functional as F

from pytorch_examples.language import (
    MLPLanguageModel,
    bigram_counts,
    eval_mode,
    evaluate_loss,
    sample_names,
    uniform_loss,
)
from pytorch_examples.names import CharVocabulary, context_pairs

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
    assert evaluate_loss(uniform, contexts, targets, batch_size=7) == pytest.approx(
        math.log(27), abs=1e-6
    )
    assert uniform_loss(27) == pytest.approx(math.log(27))


def test_evaluate_loss_agrees_with_cross_entropy_in_one_batch(vocab):
    contexts, targets = context_pairs(NAMES, vocab, context_length=3)
    model = MLPLanguageModel(len(vocab), 3, 4, 16)
    with torch.no_grad(), eval_mode(model):
        expected = F.cross_entropy(model(contexts), targets).item()
    assert evaluate_loss(model, contexts, targets, batch_size=5) == pytest.approx(
        expected, rel=1e-5
    )


def test_sampling_is_reproducible_with_a_seeded_generator(vocab):
    model = MLPLanguageModel(len(vocab), 3, 4, 16)
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


def test_batch_norm_makes_train_and_eval_mode_differ(vocab):
    torch.manual_seed(0)
    contexts, targets = context_pairs(NAMES, vocab, context_length=3)
    model = MLPLanguageModel(len(vocab), 3, 4, 16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):  # move the running statistics away from their start
        loss = F.cross_entropy(model(contexts), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        train_output = model(contexts)
        with eval_mode(model):
            eval_output = model(contexts)
            assert not model.training
    assert model.training  # eval_mode restored the previous mode
    assert not torch.allclose(train_output, eval_output, atol=1e-4)


def test_training_reduces_the_loss(vocab):
    torch.manual_seed(0)
    contexts, targets = context_pairs(NAMES, vocab, context_length=3)
    model = MLPLanguageModel(len(vocab), 3, 8, 32)
    before = evaluate_loss(model, contexts, targets)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        loss = F.cross_entropy(model(contexts), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert before == pytest.approx(math.log(27), abs=0.05)  # the small output layer
    assert evaluate_loss(model, contexts, targets) < before - 1.0


def test_mlp_checks_its_input_shape(vocab):
    model = MLPLanguageModel(len(vocab), 3, 4, 16)
    assert model(torch.zeros(5, 3, dtype=torch.long)).shape == (5, 27)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        model(torch.zeros(5, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="positive"):
        MLPLanguageModel(27, 0, 4, 16)
