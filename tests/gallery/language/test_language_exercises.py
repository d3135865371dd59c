"""The language exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from exercise_mistakes import mistake_tests
from pytorch_examples.exercises import language as ex


def normalize_columns(counts, k):
    return (counts + k) / (counts + k).sum(dim=0, keepdim=True)


def smooth_the_numerator_only(counts, k):
    return (counts + k) / counts.sum(dim=1, keepdim=True)


def add_one_always(counts, k):
    return (counts + 1) / (counts + 1).sum(dim=1, keepdim=True)


def _indices(word, symbols):
    return [0] + [symbols.index(c) for c in word]


def nll_without_the_end(table, word, symbols):
    indices = _indices(word, symbols)
    return -table[indices[:-1], indices[1:]].log().mean()


def nll_summed(table, word, symbols):
    indices = [*_indices(word, symbols), 0]
    return -table[indices[:-1], indices[1:]].log().sum()


def nll_transposed(table, word, symbols):
    indices = [*_indices(word, symbols), 0]
    return -table[indices[1:], indices[:-1]].log().mean()


def mask_the_future_in(length):
    return torch.ones(length, length, dtype=torch.bool).triu()


def mask_of_forbidden_pairs(length):
    return ~torch.ones(length, length, dtype=torch.bool).tril()


def mask_without_the_diagonal(length):
    return torch.ones(length, length, dtype=torch.bool).tril(diagonal=-1)


def float_mask(length):
    return torch.ones(length, length).tril()


def _causal(scores, v):
    length = scores.shape[-1]
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    return scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1) @ v


def attention_unscaled(q, k, v):
    return _causal(q @ k.transpose(-2, -1), v)


def attention_scaled_by_width(q, k, v):
    return _causal(q @ k.transpose(-2, -1) / q.shape[-1], v)


def attention_without_mask(q, k, v):
    return (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(dim=-1) @ v


def attention_masked_with_zeros(q, k, v):
    length = q.shape[-2]
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(~allowed, 0.0)
    return scores.softmax(dim=-1) @ v


def attention_masked_after_softmax(q, k, v):
    length = q.shape[-2]
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    return (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(dim=-1) * allowed @ v


def sample_multiplying(logits, temperature, n_samples, generator):
    probabilities = F.softmax(logits * temperature, dim=-1)
    return torch.multinomial(probabilities, n_samples, replacement=True, generator=generator)


def sample_ignoring_temperature(logits, temperature, n_samples, generator):
    probabilities = F.softmax(logits, dim=-1)
    return torch.multinomial(probabilities, n_samples, replacement=True, generator=generator)


def sample_greedily(logits, temperature, n_samples, generator):
    return logits.argmax().repeat(n_samples)


def sample_without_the_generator(logits, temperature, n_samples, generator):
    probabilities = F.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probabilities, n_samples, replacement=True)


def sample_with_a_generator_of_its_own(logits, temperature, n_samples, generator):
    probabilities = F.softmax(logits / temperature, dim=-1)
    own = torch.Generator().manual_seed(0)
    return torch.multinomial(probabilities, n_samples, replacement=True, generator=own)


def sample_without_replacement(logits, temperature, n_samples, generator):
    probabilities = F.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probabilities, n_samples, generator=generator)


WRONG = {
    "smoothed_probabilities": [
        (normalize_columns, "Your columns sum to 1, not your rows"),
        (smooth_the_numerator_only, "The denominator lacks the pseudo-counts"),
        (add_one_always, "You added 1 whatever k is"),
    ],
    "word_nll": [
        (nll_without_the_end, "n + 1 predictions"),
        (nll_summed, "That is the total"),
        (nll_transposed, "table[next, previous]"),
    ],
    "causal_mask": [
        (mask_the_future_in, "see the characters after it"),
        (mask_of_forbidden_pairs, "nn.MultiheadAttention's convention"),
        (mask_without_the_diagonal, "Each position must see itself"),
        (float_mask, "expected dtype torch.bool"),
    ],
    "causal_attention": [
        (attention_unscaled, "The scores are not scaled"),
        (attention_scaled_by_width, "divide by its square root"),
        (attention_without_mask, "No causal mask"),
        (attention_masked_with_zeros, "float('-inf')"),
        (attention_masked_after_softmax, "You masked after the softmax"),
    ],
    "sample_with_temperature": [
        (sample_multiplying, "You multiplied the logits by the temperature"),
        (sample_ignoring_temperature, "The temperature has no effect"),
        (sample_greedily, "You always drew the most likely index"),
        (sample_without_the_generator, "Pass the generator to torch.multinomial"),
        (sample_with_a_generator_of_its_own, "do not come from `generator`"),
        (sample_without_replacement, "RuntimeError"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
