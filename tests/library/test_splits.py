import pytest
import torch

from pytorch_examples.data.splits import split_indices


def test_every_index_is_in_exactly_one_part():
    train, val, test = split_indices(101, (0.8, 0.1, 0.1), seed=3)
    assert (len(train), len(val), len(test)) == (80, 10, 11)
    assert torch.equal(torch.cat([train, val, test]).sort().values, torch.arange(101))


def test_the_seed_fixes_the_split():
    first = split_indices(50, (0.6, 0.2, 0.2), seed=1)
    again = split_indices(50, (0.6, 0.2, 0.2), seed=1)
    other = split_indices(50, (0.6, 0.2, 0.2), seed=2)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.5, 0.5), "three positive"),
        ((0.8, 0.3, -0.1), "three positive"),
        ((0.5, 0.3, 0.3), "sum to 1"),
    ],
)
def test_bad_fractions_are_rejected(fractions, message):
    with pytest.raises(ValueError, match=message):
        split_indices(100, fractions, seed=0)


def test_too_few_items_for_three_parts_is_an_error():
    with pytest.raises(ValueError, match="too few"):
        split_indices(4, (0.8, 0.1, 0.1), seed=0)
