"""The GPT page, run small: its model against names scored one at a time."""

from __future__ import annotations

import math

import pytest
import torch

from pytorch_examples.language import pack_names, same_name_causal_mask

PAGE = "language/plot_transformer.py"


@pytest.fixture(scope="module")
def transformer(gallery_page):
    return gallery_page(PAGE)


def test_the_page_records_its_model(transformer, recorded, sequences):
    record = recorded(PAGE)
    model = transformer["model"]
    assert record["parameters"] == sum(p.numel() for p in model.parameters())
    assert record["steps"] == transformer["N_STEPS"]
    sequences.assert_records_name_by_name(model, transformer["splits"].val, record)


def test_the_loss_falls_over_a_few_steps(transformer):
    uniform = math.log(27)
    curve = transformer["val_curve"]
    assert curve[-1] < curve[0] < uniform + 0.5
    assert transformer["val_loss"] < uniform - 0.3


def test_the_gpt_is_causal(transformer, sequences):
    sequences.assert_causal(transformer["model"])


def test_packed_names_score_as_if_each_were_alone(transformer, sequences):
    names, model, vocab = sequences.NAMES, transformer["model"], transformer["vocab"]
    rows = pack_names(names, range(len(names)), vocab, transformer["ROW_LENGTH"])
    assert len(rows[0]) < len(names)  # several names share a row
    loss = transformer["mean_loss"](model, rows)
    assert loss == pytest.approx(sequences.mean_loss_alone(model, names), rel=1e-5)
    # Neither the padding at the end of a row nor a neighbouring name changes the loss.
    tokens, _, _, name_ids = rows
    scrambled = torch.where(name_ids == -1, torch.randint_like(tokens, 27), tokens)
    assert transformer["mean_loss"](model, (scrambled, *rows[1:])) == loss
    reordered = pack_names(names, reversed(range(len(names))), vocab, transformer["ROW_LENGTH"])
    assert transformer["mean_loss"](model, reordered) == pytest.approx(loss)


def test_the_attention_block_with_the_packing_mask_sees_each_name_alone(transformer):
    attention = transformer["model"].blocks[0].attention
    x = torch.randn(1, 6, transformer["WIDTH"])
    with torch.no_grad():
        packed = attention(x, same_name_causal_mask(torch.tensor([[4, 4, 7, 7, 7, -1]])))
        first = attention(x[:, :2], same_name_causal_mask(torch.zeros(1, 2)))
        second = attention(x[:, 2:5], same_name_causal_mask(torch.zeros(1, 3)))
    torch.testing.assert_close(packed[:, :5], torch.cat([first, second], dim=1))


def test_the_attention_weights_read_by_the_hook_are_those_the_model_mixes_with(transformer):
    # Rebuild the last layer's output from the hooked weights and its own value projection.
    model, width, heads = transformer["model"], transformer["WIDTH"], transformer["N_HEADS"]
    tokens = torch.tensor([transformer["vocab"].encode(".emma")])
    positions, name_ids = torch.arange(5)[None], torch.zeros(1, 5, dtype=torch.long)
    weights = transformer["last_layer_weights"](tokens, positions, name_ids)
    assert weights.shape == (1, heads, 5, 5)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(1, heads, 5))
    block, captured = model.blocks[-1], []
    hook = block.register_forward_hook(lambda module, inputs, output: captured.append(inputs))
    model.eval()
    with torch.no_grad():
        model(tokens)
        hook.remove()
        x = block.norm1(captured[0][0])
        values = block.attention.qkv(x)[..., 2 * width :].view(1, 5, heads, -1).transpose(1, 2)
        mixed = (weights @ values).transpose(1, 2).reshape(1, 5, width)
        torch.testing.assert_close(block.attention.mix(mixed), block.attention(x, captured[0][1]))


def test_the_gpt_rejects_a_context_longer_than_its_positions(transformer):
    model, block_size = transformer["model"], transformer["BLOCK_SIZE"]
    with pytest.raises(ValueError, match=f"at most {block_size} positions"):
        model(torch.zeros(1, block_size + 1, dtype=torch.long))
