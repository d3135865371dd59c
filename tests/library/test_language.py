import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.data.names import CharVocabulary, context_pairs
from pytorch_examples.evaluation import evaluate
from pytorch_examples.language import (
    IGNORE_INDEX,
    bigram_counts,
    cross_entropy_from_counts,
    draw_names,
    pack_names,
    prediction_losses,
    same_name_causal_mask,
    sample_names,
    uniform_loss,
)

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


def test_cross_entropy_from_counts_is_the_mean_over_the_pairs(vocab):
    contexts, targets = context_pairs(NAMES, vocab, context_length=1)
    table = torch.randn(27, 27, generator=torch.Generator().manual_seed(0))
    expected = F.cross_entropy(table[contexts[:, 0]], targets).item()
    counts = bigram_counts(contexts, targets, 27)
    assert cross_entropy_from_counts(table, counts).item() == pytest.approx(expected, rel=1e-6)
    # A pair never seen adds nothing, even where its probability is 0.
    table[0, 26] = -math.inf
    assert counts[0, 26] == 0
    assert math.isfinite(cross_entropy_from_counts(table, counts).item())


class LastCharacterModel(nn.Module):
    """Logits at every position that depend on the character there, and a dropout."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(27, 27)
        self.dropout = nn.Dropout(0.5)

    def forward(self, tokens):
        return self.dropout(self.embedding(tokens))


def test_prediction_losses_leave_out_the_ignored_targets_and_dropout(vocab):
    torch.manual_seed(0)
    model = LastCharacterModel()
    inputs = torch.randint(0, 27, (5, 7))
    targets = torch.randint(0, 27, (5, 7))
    targets[:, 4:] = IGNORE_INDEX
    losses = prediction_losses(model, inputs, targets, batch_size=2)
    with torch.no_grad():
        logits = model.embedding(inputs)  # evaluation mode: no dropout
    expected = F.cross_entropy(
        logits[:, :4].reshape(-1, 27), targets[:, :4].reshape(-1), reduction="none"
    )
    torch.testing.assert_close(losses, expected)
    assert model.training


def test_prediction_losses_pass_every_input_and_take_the_logits_of_a_tuple():
    def model(tokens, shift):
        return torch.nn.functional.one_hot(tokens + shift, 27).float(), "a state"

    tokens = torch.zeros(3, 2, dtype=torch.long)
    shift = torch.tensor([[0, 0], [1, 1], [2, 2]])
    losses = prediction_losses(model, (tokens, shift), torch.zeros(3, 2, dtype=torch.long))
    assert losses[0] < losses[2] and losses[2] == losses[4]
    with pytest.raises(ValueError, match="one row per row"):
        prediction_losses(model, (tokens, shift[:2]), torch.zeros(3, 2, dtype=torch.long))


def test_packed_rows_hold_whole_names_and_restart_their_positions(vocab):
    names = ["ava", "christopher", "li", "emma", "zoe"]
    tokens, targets, positions, name_ids = pack_names(names, range(5), vocab, 16)
    assert tokens.shape[1] == 16 and len(tokens) < len(names)
    assert int((targets != IGNORE_INDEX).sum()) == sum(len(n) + 1 for n in names)
    for index, name in enumerate(names):
        where = name_ids == index
        assert positions[where].tolist() == list(range(len(name) + 1))
        assert vocab.decode(tokens[where]) == "." + name
        assert vocab.decode(targets[where]) == name + "."
    assert (targets[name_ids == -1] == IGNORE_INDEX).all()
    with pytest.raises(ValueError, match="does not fit"):
        pack_names(["christopher"], [0], vocab, 8)


def test_packing_refuses_a_name_twice(vocab):
    # Two copies of a name would share its index, and the mask would let one read the other.
    for order in ([0, 1, 0], torch.tensor([1, 0, 1])):
        with pytest.raises(ValueError, match="repeats index"):
            pack_names(["ava", "li"], order, vocab, 16)
    assert len(pack_names(["ava", "li"], torch.tensor([1, 0]), vocab, 16)[0]) == 1


def test_the_packing_mask_is_causal_and_keeps_names_apart():
    mask = same_name_causal_mask(torch.tensor([[0, 0, 0, 0], [4, 4, 7, -1]]))
    assert mask.shape == (2, 1, 4, 4)
    assert torch.equal(mask[0, 0], torch.ones(4, 4, dtype=torch.bool).tril())
    assert not mask[1, 0, 2, :2].any() and not mask[1, 0, 3, :3].any()
    assert mask[1, 0].diagonal().all()  # no empty softmax row


def always_b_then_stop(tokens):
    """Logits at every position: "b" after anything but "b", and the end after "b"."""
    logits = torch.full((*tokens.shape, 27), -1e9)
    logits[..., 2] = torch.where(tokens == 2, -1e9, 0.0)
    logits[..., 0] = torch.where(tokens == 2, 0.0, -1e9)
    return logits


def test_draw_names_follows_the_model_after_the_prefix(vocab):
    generator = torch.Generator().manual_seed(0)
    assert draw_names(always_b_then_stop, vocab, 3, generator=generator) == ["b"] * 3
    assert draw_names(always_b_then_stop, vocab, 2, generator=generator, prefix="ab") == ["ab"] * 2
    assert draw_names(always_b_then_stop, vocab, 2, generator=generator, prefix="a") == ["ab"] * 2


def test_draw_names_stops_at_max_length_and_takes_the_logits_of_a_tuple(vocab):
    def only_a(tokens):
        logits = torch.full((*tokens.shape, 27), -1e9)
        logits[..., 1] = 0.0
        return logits, None

    names = draw_names(only_a, vocab, 2, generator=torch.Generator(), max_length=5)
    assert names == ["aaaaa", "aaaaa"]


def test_a_low_temperature_draws_the_likeliest_character_more_often(vocab):
    def favours_a(tokens):
        logits = torch.zeros(*tokens.shape, 27)
        logits[..., 1] = 1.0
        logits[..., 0] = 5.0  # stop after one letter, mostly
        logits[tokens == 0, 0] = -1e9
        return logits

    shares = []
    for temperature in (0.25, 1.0, 4.0):
        names = draw_names(
            favours_a,
            vocab,
            2000,
            generator=torch.Generator().manual_seed(0),
            temperature=temperature,
        )
        shares.append(sum(name.startswith("a") for name in names) / len(names))
    assert shares[0] > shares[1] > shares[2]


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf")])
def test_draw_names_rejects_a_temperature_that_is_not_positive(vocab, temperature):
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        draw_names(
            always_b_then_stop, vocab, 2, generator=torch.Generator(), temperature=temperature
        )


@pytest.mark.parametrize("prefix", ["Emma", "zoé", "a.b", "x1", "a" * 21])
def test_draw_names_rejects_a_prefix_it_cannot_start(vocab, prefix):
    with pytest.raises(ValueError, match=r"outside the vocabulary|letters a-z|longer than"):
        draw_names(always_b_then_stop, vocab, 2, generator=torch.Generator(), prefix=prefix)
