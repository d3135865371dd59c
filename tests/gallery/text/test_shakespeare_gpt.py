"""The Shakespeare GPT page, run small: its blocks, its model's causality, its scores."""

from __future__ import annotations

import itertools

import pytest
import torch

PAGE = "text/plot_shakespeare_gpt.py"


@pytest.fixture(scope="module")
def gpt(gallery_page):
    return gallery_page(PAGE)


def test_random_blocks_are_stretches_of_the_training_text_and_targets_the_next(gpt):
    generator = torch.Generator().manual_seed(0)
    inputs, targets = gpt["random_blocks"](gpt["train_ids"], 50, generator)
    text = gpt["splits"].train
    assert inputs.shape == targets.shape == (50, gpt["BLOCK_SIZE"])
    for row_inputs, row_targets in zip(inputs, targets, strict=True):
        written = gpt["decode"](row_inputs.tolist()) + gpt["decode"](row_targets[-1:].tolist())
        assert written in text
        assert torch.equal(row_inputs[1:], row_targets[:-1])


def test_consecutive_blocks_read_the_part_once_in_order(gpt):
    ids = gpt["val_ids"]
    inputs, targets = gpt["val_blocks"]
    covered = inputs.numel()
    assert len(ids) - gpt["BLOCK_SIZE"] <= covered < len(ids)
    assert torch.equal(inputs.flatten(), ids[:covered])
    assert torch.equal(targets.flatten(), ids[1 : covered + 1])


def test_the_text_round_trips_through_the_vocabulary(gpt):
    text = gpt["splits"].val[:2000]
    assert gpt["decode"](gpt["encode"](text).tolist()) == text


def test_the_model_is_causal_and_reads_any_length_up_to_its_block(gpt):
    model = gpt["model"].eval()
    tokens = gpt["encode"](gpt["splits"].val[: gpt["BLOCK_SIZE"]])[None]
    changed = tokens.clone()
    changed[0, -1] = (changed[0, -1] + 1) % len(gpt["symbols"])
    with torch.no_grad():
        logits, changed_logits = model(tokens), model(changed)
        prefix_logits = model(tokens[:, :10])
    assert torch.equal(logits[0, :-1], changed_logits[0, :-1])
    assert not torch.equal(logits[0, -1], changed_logits[0, -1])
    torch.testing.assert_close(prefix_logits[0], logits[0, :10])


def test_block_losses_average_the_loss_of_every_character(gpt):
    model, (inputs, targets) = gpt["model"], gpt["test_blocks"]
    with torch.no_grad():
        log_probs = model.eval()(inputs[:5]).log_softmax(dim=-1)
    by_hand = [
        -sum(log_probs[b, t, targets[b, t]].item() for t in range(inputs.shape[1]))
        / inputs.shape[1]
        for b in range(5)
    ]
    torch.testing.assert_close(
        gpt["block_losses"](model, (inputs[:5], targets[:5])),
        torch.tensor(by_hand),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("batch_size_name", ["BATCH_SIZE", "largest"])
def test_the_learning_rate_warms_up_then_falls_along_a_cosine_to_its_floor(gpt, batch_size_name):
    batch_size = gpt["BATCH_SIZE"] if batch_size_name == "BATCH_SIZE" else max(gpt["BATCH_SIZES"])
    n_steps = gpt["BLOCKS_READ"] // batch_size
    warmup = max(1, round(gpt["WARMUP_SHARE"] * n_steps))
    shares = [gpt["rate_share"](step, n_steps) for step in range(n_steps)]
    assert shares[0] == pytest.approx(1 / warmup)
    assert shares[warmup - 1] == pytest.approx(1.0)
    assert shares[-1] == pytest.approx(gpt["MIN_LEARNING_RATE_SHARE"])
    after = shares[warmup:]
    assert all(a >= b for a, b in itertools.pairwise(after))
    # Halfway through the decay, a cosine is halfway between peak and floor.
    middle = warmup + (n_steps - 1 - warmup) / 2
    if middle == int(middle):
        floor = gpt["MIN_LEARNING_RATE_SHARE"]
        assert gpt["rate_share"](int(middle), n_steps) == pytest.approx((1 + floor) / 2)


def test_the_standard_error_groups_consecutive_blocks(gpt):
    error, chunk = gpt["standard_error"], gpt["CHUNK_BLOCKS"]
    # Blocks alike within a chunk and different between chunks: the spread between
    # chunk means is all there is, and treating blocks as independent would understate it.
    values = torch.arange(8.0).repeat_interleave(chunk)
    chunk_means = torch.arange(8.0)
    expected = chunk_means.std().item() / 8**0.5
    assert error(values) == pytest.approx(expected)
    assert error(values) > values.std().item() / len(values) ** 0.5


def chosen_by_rule(gpt, runs, difference, tie_break):
    scores = {
        setting: gpt["block_losses"](model, gpt["val_blocks"]).mean().item()
        for setting, (model, _, _) in runs.items()
    }
    best, runner_up = sorted(scores, key=scores.get)[:2]
    return min(best, runner_up, key=tie_break) if difference.within_noise() else best


def test_validation_chose_the_rate_then_the_batch_size_and_the_chosen_model_learned(gpt):
    rate_runs, batch_runs = gpt["rate_runs"], gpt["batch_runs"]
    assert set(rate_runs) == set(gpt["LEARNING_RATES"])
    assert set(batch_runs) == set(gpt["BATCH_SIZES"])
    # The lowest loss wins, unless the two best are within noise: then the lower rate,
    # and the batch size nearer (in ratio) to the one the rate was chosen at.
    rate = chosen_by_rule(gpt, rate_runs, gpt["difference"], lambda rate: rate)
    assert gpt["learning_rate"] == rate
    searched_at = gpt["BATCH_SIZE"]
    size = chosen_by_rule(
        gpt,
        batch_runs,
        gpt["batch_difference"],
        lambda s: max(s, searched_at) / min(s, searched_at),
    )
    assert gpt["batch_size"] == size
    assert gpt["model"] is batch_runs[size][0]
    # The batch-size search reuses the rate search's run at BATCH_SIZE, and every run,
    # whatever its batch size, ends having read BLOCKS_READ blocks.
    assert batch_runs[gpt["BATCH_SIZE"]] is rate_runs[rate]
    for _, _, curve in [*rate_runs.values(), *batch_runs.values()]:
        assert curve[-1][0] == gpt["BLOCKS_READ"]


def test_every_batch_size_reads_the_same_blocks_in_the_same_order(gpt):
    # Two steps of a batch of 8 draw the blocks that one step of 16 draws, from the
    # same seed, so runs with different batch sizes train on the same text.
    ids, small = gpt["train_ids"], min(gpt["BATCH_SIZES"])
    one_draw = gpt["random_blocks"](ids, 2 * small, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    two_draws = [gpt["random_blocks"](ids, small, generator) for _ in range(2)]
    for whole, halves in zip(one_draw, zip(*two_draws, strict=True), strict=True):
        assert torch.equal(whole, torch.cat(halves))
    uniform = torch.log(torch.tensor(float(len(gpt["symbols"])))).item()
    assert gpt["val_loss"] < uniform


class FixedLosses(torch.nn.Module):
    """A stand-in model whose loss on each validation block is a value set in advance."""

    def __init__(self, blocks, block_losses, vocab_size):
        super().__init__()
        inputs, targets = blocks
        # A target logit a among V - 1 zeros costs log(1 + (V - 1) exp(-a)) nats.
        target_logit = -torch.log(torch.expm1(block_losses) / (vocab_size - 1))
        self.inputs = inputs
        self.logits = torch.zeros(*targets.shape, vocab_size)
        self.logits.scatter_(
            2, targets[..., None], target_logit[:, None, None].expand(-1, targets.shape[1], 1)
        )

    def forward(self, tokens):
        assert torch.equal(tokens, self.inputs)
        return self.logits


@pytest.mark.parametrize(
    ("shift", "tie_break_prefers", "expected"),
    [
        (0.5, 2, 1),  # a clear winner wins whatever the tie-break prefers
        (0.0, 2, 2),  # within noise: the tie-break decides
        (0.0, 1, 1),
    ],
)
def test_choose_keeps_a_clear_winner_and_breaks_ties_as_told(
    gpt, shift, tie_break_prefers, expected
):
    blocks, vocab_size = gpt["val_blocks"], len(gpt["symbols"])
    generator = torch.Generator().manual_seed(0)
    base = 1.0 + torch.rand(len(blocks[0]), generator=generator)
    noise = 0.01 * torch.randn(len(blocks[0]), generator=generator)
    # Setting 2 is worse than setting 1 by `shift` on every block, plus a little noise.
    losses = {1: base, 2: base + shift + noise - noise.mean() + 1e-4}
    runs = {
        name: (FixedLosses(blocks, value, vocab_size), 0.0, []) for name, value in losses.items()
    }
    torch.testing.assert_close(
        gpt["block_losses"](runs[2][0], blocks), losses[2], rtol=1e-4, atol=1e-4
    )
    chosen, difference = gpt["choose"](
        runs, tie_break=lambda name: name != tie_break_prefers, name="setting"
    )
    assert chosen == expected
    assert difference.difference == pytest.approx((losses[1] - losses[2]).mean().item(), abs=1e-4)
