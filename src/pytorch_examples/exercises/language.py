"""Exercises for the language section, checked on inputs the pages never show.

Used on :doc:`/auto_examples/language/plot_language_exercises`. Each check builds small
count tables, alphabets, queries and logits of its own from fixed seeds.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from pytorch_examples.exercises._mistakes import expect_close_or_explain
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call

__all__ = [
    "causal_attention",
    "causal_mask",
    "sample_with_temperature",
    "smoothed_probabilities",
    "word_nll",
]

ALPHABET = ".abcdefg"  # the checks' own alphabet; "." marks the start and the end of a word


# smoothed_probabilities


def _smoothed_probabilities_cases(answer) -> str:
    generator = torch.Generator().manual_seed(101)
    settings = ((5, 1.0), (9, 0.5), (4, 3.0))
    for size, k in settings:
        counts = torch.randint(0, 30, (size, size), generator=generator)
        counts[1] = 0  # a character never seen before another one
        case = f"a {size} x {size} int64 count table whose row 1 is all zeros, k = {k}"
        smoothed = counts + k
        got = call(answer, counts.clone(), k, case=case)
        expect_close_or_explain(
            got,
            smoothed / smoothed.sum(dim=1, keepdim=True),
            case=case,
            mistakes=(
                (
                    smoothed / smoothed.sum(dim=0, keepdim=True),
                    "Your columns sum to 1, not your rows: row i is the distribution of the "
                    "character that follows character i, so divide by the sum over dim=1.",
                ),
                (
                    smoothed / smoothed.sum(),
                    "You divided by the sum of the whole table: each row must sum to 1.",
                ),
                (
                    smoothed / counts.sum(dim=1, keepdim=True),
                    "The denominator lacks the pseudo-counts: divide by the row sum *after* "
                    "adding k, or the rows do not sum to 1.",
                ),
                (
                    (counts + 1) / (counts + 1).sum(dim=1, keepdim=True),
                    "You added 1 whatever k is: add the pseudo-count k.",
                ),
            ),
            atol=1e-6,
            rtol=1e-5,
        )
    return f"rows sum to 1 with pseudo-counts k = {', '.join(str(k) for _, k in settings)}"


smoothed_probabilities = Exercise(
    "smoothed_probabilities",
    "Add k to every count, then divide each row by its own sum; keepdim=True keeps the "
    "row sums as a column that broadcasts against the table.",
    _smoothed_probabilities_cases,
)


# word_nll


def _word_nll_cases(answer) -> str:
    generator = torch.Generator().manual_seed(202)
    words = ("bead", "g", "cafe", "decaf")
    for word in words:
        logits = torch.randn(len(ALPHABET), len(ALPHABET), generator=generator)
        table = logits.softmax(dim=1)
        letters = [ALPHABET.index(c) for c in word]
        previous, following = [0, *letters], [*letters, 0]
        log_p = table[previous, following].log()
        case = f"the word {word!r} ({len(word) + 1} predictions), a random table over {ALPHABET!r}"
        got = call(answer, table.clone(), word, ALPHABET, case=case)
        expect_close_or_explain(
            got,
            -log_p.mean(),
            case=case,
            mistakes=(
                (
                    -log_p[:-1].mean(),
                    "You left out the prediction of the end: after the last letter the model "
                    "must also predict '.', so a word of n letters makes n + 1 predictions.",
                ),
                (
                    -log_p[1:].mean(),
                    "You left out the first prediction: the first letter follows the start "
                    "symbol '.'.",
                ),
                (-log_p.sum(), "That is the total; the exercise asks for the average."),
                (
                    -log_p.sum() / len(word),
                    "You divided by the number of letters; divide by the number of "
                    "predictions, one more than the letters.",
                ),
                (
                    -table[following, previous].log().mean(),
                    "You read the table as table[next, previous]: row = previous character, "
                    "column = next character.",
                ),
                (
                    -log_p.mean() / math.log(2),
                    "That is in bits (log base 2); use the natural logarithm.",
                ),
            ),
            atol=1e-5,
            rtol=1e-5,
        )
    return f"the average over n + 1 predictions, on {len(words)} words"


word_nll = Exercise(
    "word_nll",
    "Turn the word into symbol indices with '.' in front and '.' at the end; the pairs are "
    "then (indices[:-1], indices[1:]), and fancy indexing table[previous, following] "
    "picks every probability at once.",
    _word_nll_cases,
)


# causal_mask


def _causal_mask_cases(answer) -> str:
    lengths = (4, 9, 1)
    for length in lengths:
        expected = torch.ones(length, length, dtype=torch.bool).tril()
        case = f"length {length}"
        got = call(answer, length, case=case)
        if not isinstance(got, torch.Tensor):
            raise WrongAnswerError(f"On {case}: expected a tensor, got {type(got).__name__}")
        if got.dtype != torch.bool:
            raise WrongAnswerError(
                f"On {case}: expected dtype torch.bool, got {got.dtype}. A float mask means "
                "something else to scaled_dot_product_attention: it is *added* to the scores."
            )
        if got.shape != expected.shape:
            raise WrongAnswerError(
                f"On {case}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
            )
        if torch.equal(got, expected):
            continue
        explanations = {
            "~": (
                ~expected,
                " You marked the pairs that may NOT attend (nn.MultiheadAttention's "
                "convention); here True means 'may attend', as for attn_mask of "
                "scaled_dot_product_attention.",
            ),
            "triu": (
                expected.T,
                " True above the diagonal lets each position see the characters after it, "
                "one of which is the character it must predict.",
            ),
            "strict": (
                expected.tril(diagonal=-1),
                " Each position must see itself: with the diagonal False, the first position "
                "sees nothing and its softmax over no scores is NaN.",
            ),
        }
        why = next((text for value, text in explanations.values() if torch.equal(got, value)), "")
        row, column = (int(i) for i in (got != expected).nonzero()[0])
        raise WrongAnswerError(
            f"On {case}, row {row} (the attending position), column {column}: expected "
            f"{bool(expected[row, column])} (position {row} "
            f"{'may' if expected[row, column] else 'may not'} see position {column}), got "
            f"{bool(got[row, column])}.{why}"
        )
    return f"True on and below the diagonal for lengths {', '.join(map(str, lengths))}"


causal_mask = Exercise(
    "causal_mask",
    "Start from a square of True values, torch.ones(length, length, dtype=torch.bool), and "
    "keep its lower triangle, diagonal included.",
    _causal_mask_cases,
)


# causal_attention


def _causal_attention_cases(answer) -> str:
    generator = torch.Generator().manual_seed(303)
    shapes = ((6, 4), (2, 3, 10, 16), (5, 32))
    for shape in shapes:
        q, k, v = (torch.randn(shape, generator=generator) for _ in range(3))
        width = shape[-1]
        scores = q @ k.transpose(-2, -1)
        length = shape[-2]
        allowed = torch.ones(length, length, dtype=torch.bool).tril()
        case = f"q, k and v of shape {shape} (head width {width})"
        got = call(answer, q.clone(), k.clone(), v.clone(), case=case)

        def attend(raw: torch.Tensor, mask: bool = True, dim: int = -1, v=v, allowed=allowed):
            if mask:
                raw = raw.masked_fill(~allowed, float("-inf"))
            return raw.softmax(dim=dim).nan_to_num() @ v

        expect_close_or_explain(
            got,
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            case=case,
            mistakes=(
                (attend(scores), "The scores are not scaled: divide q @ k^T by sqrt(d)."),
                (
                    attend(scores / width),
                    "You divided the scores by d; divide by its square root.",
                ),
                (
                    attend(scores / math.sqrt(width), mask=False),
                    "No causal mask: every position sees the ones after it.",
                ),
                (
                    attend((scores / math.sqrt(width)).masked_fill(~allowed, 0.0), mask=False),
                    "A masked score set to 0 still gets weight exp(0) = 1 before normalizing: "
                    "fill it with float('-inf') so its weight is exactly 0.",
                ),
                (
                    (scores / math.sqrt(width)).softmax(dim=-1) * allowed @ v,
                    "You masked after the softmax: the weights that remain no longer sum to "
                    "1. Mask the scores, then take the softmax.",
                ),
                (
                    attend(scores / math.sqrt(width), dim=-2),
                    "The softmax runs over the wrong dimension: each row (one attending "
                    "position) must sum to 1, so use dim=-1.",
                ),
            ),
            atol=1e-5,
            rtol=1e-4,
        )
    return f"equals scaled_dot_product_attention(is_causal=True) for shapes {list(shapes)}"


causal_attention = Exercise(
    "causal_attention",
    "Scores q @ k.transpose(-2, -1) divided by sqrt(d); masked_fill the positions after "
    "each row's own with float('-inf'); softmax over the last dimension; multiply by v.",
    _causal_attention_cases,
)


# sample_with_temperature

N_DRAWS = 20_000  # draws per case: a frequency's standard error is at most 0.0036
FREQUENCY_TOLERANCE = 0.02  # over 5 standard errors of a frequency


def _sample_with_temperature_cases(answer) -> str:
    logits_cases = (
        torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5]),
        torch.tensor([0.3, -0.4, 1.5, 0.0, 2.2, -1.0, 0.8, 0.1]),
    )
    temperatures = (0.5, 1.0, 2.5)
    for logits in logits_cases:
        for temperature in temperatures:
            case = f"{len(logits)} logits at temperature {temperature}, {N_DRAWS} draws"
            draws = call(
                answer,
                logits.clone(),
                temperature,
                N_DRAWS,
                torch.Generator().manual_seed(7),
                case=case,
            )
            if not isinstance(draws, torch.Tensor) or draws.shape != (N_DRAWS,):
                shape = tuple(draws.shape) if isinstance(draws, torch.Tensor) else type(draws)
                raise WrongAnswerError(
                    f"On {case}: expected a tensor of shape ({N_DRAWS},), got {shape}"
                )
            if draws.dtype != torch.int64 or draws.min() < 0 or draws.max() >= len(logits):
                raise WrongAnswerError(
                    f"On {case}: expected int64 indices in [0, {len(logits)}), got "
                    f"{draws.dtype} from {draws.min().item()} to {draws.max().item()}"
                )
            again = call(
                answer,
                logits.clone(),
                temperature,
                N_DRAWS,
                torch.Generator().manual_seed(7),
                case=case,
            )
            if not torch.equal(draws, again):
                raise WrongAnswerError(
                    f"On {case}: two calls with generators seeded alike drew differently. "
                    "Pass the generator to torch.multinomial, so that a seed repeats the draws."
                )
            frequencies = torch.bincount(draws, minlength=len(logits)) / N_DRAWS
            with_t = (logits / temperature).softmax(dim=0)
            expect_close_or_explain(
                frequencies,
                with_t,
                case=f"{case}: the frequency of each index vs its probability",
                mistakes=(
                    (
                        (logits * temperature).softmax(dim=0),
                        "You multiplied the logits by the temperature; divide them, so that a "
                        "temperature below 1 sharpens the distribution.",
                    ),
                    (logits.softmax(dim=0), "The temperature has no effect on your draws."),
                    (
                        F.one_hot(logits.argmax(), len(logits)).double(),
                        "You always drew the most likely index: sample from the probabilities "
                        "instead of taking the argmax.",
                    ),
                ),
                atol=FREQUENCY_TOLERANCE,
                rtol=0.0,
            )
            elsewhere = call(
                answer,
                logits.clone(),
                temperature,
                N_DRAWS,
                torch.Generator().manual_seed(8),
                case=case,
            )
            if torch.equal(draws, elsewhere):
                raise WrongAnswerError(
                    f"On {case}: generators seeded with 7 and with 8 gave the same draws, so "
                    "your draws do not come from `generator`. Pass it to torch.multinomial "
                    "rather than making a generator of your own."
                )
    return (
        f"frequencies within {FREQUENCY_TOLERANCE} of softmax(logits / T) for "
        f"T = {', '.join(map(str, temperatures))}; the draws repeat with the seed and "
        "change with it"
    )


sample_with_temperature = Exercise(
    "sample_with_temperature",
    "Divide the logits by the temperature, take the softmax, and call torch.multinomial "
    "with replacement=True and generator=generator.",
    _sample_with_temperature_cases,
)
