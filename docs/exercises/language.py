"""Solutions of the language exercises (gallery/language/plot_language_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

import torch


def smoothed_probabilities(counts: torch.Tensor, k: float) -> torch.Tensor:
    smoothed = counts + k
    return smoothed / smoothed.sum(dim=1, keepdim=True)


def word_nll(table: torch.Tensor, word: str, symbols: str) -> torch.Tensor:
    indices = [symbols.index(".")] + [symbols.index(c) for c in word] + [symbols.index(".")]
    previous, following = indices[:-1], indices[1:]
    return -table[previous, following].log().mean()


def causal_mask(length: int) -> torch.Tensor:
    return torch.ones(length, length, dtype=torch.bool).tril()


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    length, width = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-2, -1) / width**0.5
    allowed = torch.ones(length, length, dtype=torch.bool).tril()
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    return weights @ v


def sample_with_temperature(
    logits: torch.Tensor, temperature: float, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    probabilities = torch.softmax(logits / temperature, dim=-1)
    return torch.multinomial(probabilities, n_samples, replacement=True, generator=generator)
