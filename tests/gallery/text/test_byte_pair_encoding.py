"""The byte-pair encoding page, run small: round trips, merge order, tokens per character."""

from __future__ import annotations

import json
import math
import random
import re
from itertools import pairwise

import pytest
import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

PAGE = "text/plot_byte_pair_encoding.py"

# Characters to draw strings from; few of them occur in tiny Shakespeare.
POOLS = {
    "ascii": [chr(code) for code in range(32, 127)] + ["\n", "\t", "\r\n"],
    "accented": list("éèçñüßøÆœÅ"),
    "combining marks": [chr(code) for code in range(0x300, 0x370)],
    "cjk and hangul": list("日本語漢字한국어"),
    "emoji": ["🎭", "😀", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "\u200d", "\ufe0f"],
    "unusual spaces": ["\u00a0", "\u2028", "\u3000", "\x0b", "\x0c", "\x85", "\x00"],
}


def random_code_point(rng: random.Random) -> str:
    """Any Unicode scalar value: a code point that is not a surrogate."""
    while True:
        code = rng.randrange(0x110000)
        if not 0xD800 <= code <= 0xDFFF:
            return chr(code)


def generated_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    mixed = [c for pool in POOLS.values() for c in pool]
    strings = [""]
    for _ in range(count):
        length = rng.randrange(1, 40)
        choice = rng.random()
        if choice < 0.4:
            strings.append("".join(rng.choice(mixed) for _ in range(length)))
        elif choice < 0.7:
            strings.append("".join(random_code_point(rng) for _ in range(length)))
        else:  # ASCII words, each followed by a combining mark
            words = [rng.choice(["the", " king", "e", "a"]) for _ in range(length // 4 + 1)]
            marks = rng.choices(POOLS["combining marks"], k=len(words))
            strings.append("".join(w + m for w, m in zip(words, marks, strict=True)))
    return strings


def encode_by_replaying(text: str, merges: list, pattern: str, n_bytes: int) -> list[int]:
    """Each chunk's bytes with every merge applied in turn over the whole chunk."""
    cache: dict[str, list[int]] = {}
    ids: list[int] = []
    for chunk in re.findall(pattern, text):
        if chunk not in cache:
            tokens = list(chunk.encode("utf-8"))
            for rank, (first, second) in enumerate(merges):
                merged, k = [], 0
                while k < len(tokens):
                    if tokens[k : k + 2] == [first, second]:
                        merged.append(n_bytes + rank)
                        k += 2
                    else:
                        merged.append(tokens[k])
                        k += 1
                tokens = merged
            cache[chunk] = tokens
        ids += cache[chunk]
    return ids


@pytest.fixture(scope="module")
def bpe(gallery_page):
    return gallery_page(PAGE)


def test_encoding_round_trips_on_arbitrary_unicode(bpe):
    encode, decode = bpe["encode"], bpe["decode"]
    merges, vocabulary = bpe["merges"], bpe["vocabulary"]
    assert encode("", merges) == []
    for text in generated_strings(seed=0, count=300):
        ids = encode(text, merges)
        assert all(0 <= i < len(vocabulary) for i in ids), text
        assert decode(ids, vocabulary) == text, text
        # Each token stands for a run of the text's UTF-8 bytes, in order.
        assert b"".join(vocabulary[i] for i in ids) == text.encode("utf-8")


def test_a_character_training_never_saw_is_its_bytes(bpe):
    encode, merges = bpe["encode"], bpe["merges"]
    seen = set(bpe["train_text"])
    for character in ["é", "☃", "🎭", "\u0301", "日"]:
        assert character not in seen
        assert encode(character, merges) == list(character.encode("utf-8"))


def test_encoding_applies_the_merges_in_the_order_learned(bpe):
    merges, pattern, n_bytes = bpe["merges"], bpe["SPLIT_PATTERN"], bpe["N_BYTES"]
    texts = [bpe["val_text"][:3000], *generated_strings(seed=1, count=50)]
    for text in texts:
        assert bpe["encode"](text, merges) == encode_by_replaying(text, merges, pattern, n_bytes)
    # Chunks whose result depends on the order exist: "aaa" merges its first two bytes,
    # and a merge built on an earlier one applies only after it.
    a = ord("a")
    toy = [(a, a), (n_bytes, a)]  # "aa", then "aa" + "a"
    assert bpe["encode"]("aaaa", toy) == encode_by_replaying("aaaa", toy, pattern, n_bytes)
    assert bpe["encode"]("aaa", toy) == [n_bytes + 1]
    assert bpe["encode"]("aaaa", toy) == [n_bytes, n_bytes]


def test_tokens_per_character_counted_again(bpe):
    merges, pattern, n_bytes = bpe["merges"], bpe["SPLIT_PATTERN"], bpe["N_BYTES"]
    val_text = bpe["val_text"]
    for m in bpe["MERGE_COUNTS"]:
        n_tokens = len(encode_by_replaying(val_text, merges[:m], pattern, n_bytes))
        assert bpe["tokens_per_character"][m] == pytest.approx(n_tokens / len(val_text))
        assert f"{m:4d} merges: {n_tokens / len(val_text):.3f} tokens per character" in bpe.output
    assert bpe["tokens_per_character"][0] == 1.0  # ASCII: one byte per character


def test_loss_per_character_is_loss_per_token_times_tokens_per_character(bpe):
    # A model that predicts every token uniformly has ln V nats per token, whatever the
    # text; per character that is ln V times the tokens per scored character.
    val_ids, n_scored = bpe["val_ids"], bpe["n_scored"]
    vocab_size = len(bpe["vocabulary"])

    def uniform(tokens):
        return torch.zeros(*tokens.shape, vocab_size)

    per_token = bpe["token_losses"](uniform, val_ids)
    assert per_token.shape == (len(val_ids) - 1,)
    torch.testing.assert_close(per_token, torch.full_like(per_token, math.log(vocab_size)))
    per_char = bpe["per_character"](per_token, val_ids, n_scored)
    expected = math.log(vocab_size) * (len(val_ids) - 1) / n_scored
    assert per_char.mean().item() == pytest.approx(expected, rel=1e-6)  # float32 logits


def test_the_bpe_loss_per_character_is_its_log_likelihood_over_the_characters(bpe):
    # Score the validation text again with the page's trained BPE model, block by block,
    # from log-probabilities, and divide the nats by the characters after the first token.
    model, val_ids, block = bpe["bpe_model"], bpe["val_ids"], bpe["BLOCK"]
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(val_ids) - 1, block):
            inputs = torch.tensor(val_ids[start : start + block])[None]
            targets = torch.tensor(val_ids[start + 1 : start + block + 1])
            log_probs = model(inputs[:, : len(targets)])[0].double().log_softmax(dim=-1)
            total -= log_probs.gather(1, targets[:, None]).sum().item()
    chars = len(bpe["val_text"]) - len(bpe["vocabulary"][val_ids[0]])
    assert bpe["bpe_scores"].mean().item() == pytest.approx(total / chars, rel=1e-5)


def test_the_gpt_reads_only_the_tokens_before_each_position(bpe):
    model, vocab_size = bpe["bpe_model"], len(bpe["vocabulary"])
    tokens = torch.tensor([bpe["val_ids"][:12]])
    changed = tokens.clone()
    changed[0, -1] = (changed[0, -1] + 1) % vocab_size
    with torch.no_grad():
        before, after = model(tokens)[0], model(changed)[0]
    torch.testing.assert_close(before[:-1], after[:-1])
    assert not torch.equal(before[-1], after[-1])


def character_losses(model, text: str, block: int) -> list[float]:
    """The character model's loss on each character after the first, block by block."""
    ids = list(text.encode("utf-8"))
    losses: list[float] = []
    with torch.no_grad():
        for start in range(0, len(ids) - 1, block):
            inputs = torch.tensor(ids[start : start + block])
            targets = torch.tensor(ids[start + 1 : start + block + 1])
            log_probs = model(inputs[None, : len(targets)])[0].double().log_softmax(dim=-1)
            losses += (-log_probs.gather(1, targets[:, None])[:, 0]).tolist()
    return losses


def test_both_models_score_the_same_characters(bpe):
    # A text whose first BPE token holds several characters: the character model's
    # scores must be its losses on the characters after that token, not after the first.
    encode, merges, vocabulary = bpe["encode"], bpe["merges"], bpe["vocabulary"]
    text = " the" + bpe["val_text"][1000:1400]
    bpe_ids, byte_ids = encode(text, merges), encode(text, [])
    first = len(vocabulary[bpe_ids[0]])
    assert first > 1
    n_scored = len(text) - first
    token_losses, per_character = bpe["token_losses"], bpe["per_character"]
    char_scores = per_character(token_losses(bpe["char_model"], byte_ids), byte_ids, n_scored)
    expected = character_losses(bpe["char_model"], text, bpe["BLOCK"])[first - 1 :]
    torch.testing.assert_close(char_scores, torch.tensor(expected, dtype=torch.float64))
    # The BPE scores: token k's loss on each character of its span, from the same place.
    losses = token_losses(bpe["bpe_model"], bpe_ids)
    spread = [
        loss / len(vocabulary[i])
        for loss, i in zip(losses.tolist(), bpe_ids[1:], strict=True)
        for _ in vocabulary[i]
    ]
    bpe_scores = per_character(losses, bpe_ids, n_scored)
    assert len(spread) == n_scored
    torch.testing.assert_close(bpe_scores, torch.tensor(spread, dtype=torch.float64))


def test_all_merges_and_the_encoding_agree_with_tokenizers(bpe):
    merges, vocabulary, n_bytes = bpe["merges"], bpe["vocabulary"], bpe["N_BYTES"]
    reference = Tokenizer(models.BPE())
    split = pre_tokenizers.Split(Regex(bpe["SPLIT_PATTERN"]), behavior="isolated")
    reference.pre_tokenizer = split
    trainer = trainers.BpeTrainer(
        vocab_size=n_bytes + len(merges),
        initial_alphabet=[chr(code) for code in range(n_bytes)],
        show_progress=False,
    )
    reference.train_from_iterator([bpe["train_text"]], trainer)
    theirs = [tuple(pair) for pair in json.loads(reference.to_str())["model"]["merges"]]
    ours = [(vocabulary[a].decode(), vocabulary[b].decode()) for a, b in merges]
    assert len(merges) == bpe["N_MERGES"]
    assert ours == theirs
    assert reference.encode(bpe["val_text"]).ids == bpe["val_ids"]
    # At these settings no merge was chosen among tied pairs (n_tied is 0 here): the tie
    # rule is tested against the naive trainer below.


def train_naively(text: str, n_merges: int, pattern: str, n_bytes: int) -> list:
    """Merges found by counting every pair of every chunk again at each step."""
    chunks = [list(chunk.encode("utf-8")) for chunk in re.findall(pattern, text)]
    merges = []
    for rank in range(n_merges):
        counts: dict[tuple[int, int], int] = {}
        for chunk in chunks:
            for pair in pairwise(chunk):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        top = max(counts.values())
        best = min(pair for pair, count in counts.items() if count == top)
        merges.append((best, top))
        chunks = [encode_by_replaying_chunk(c, best, n_bytes + rank) for c in chunks]
    return merges


def encode_by_replaying_chunk(tokens: list[int], pair: tuple[int, int], new: int) -> list[int]:
    out, k = [], 0
    while k < len(tokens):
        if tuple(tokens[k : k + 2]) == pair:
            out.append(new)
            k += 2
        else:
            out.append(tokens[k])
            k += 1
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_the_trainer_agrees_with_a_naive_one(bpe, seed):
    pattern, n_bytes = bpe["SPLIT_PATTERN"], bpe["N_BYTES"]
    texts = {
        0: "the cat sat on the mat; the mat sat on the cat. aaaa aaa aa a " * 3,
        1: " ".join(generated_strings(seed=5, count=60)),
    }
    naive = train_naively(texts[seed], 40, pattern, n_bytes)
    merges, counts, n_tied = bpe["train_bpe"](texts[seed], len(naive))
    assert list(zip(merges, counts, strict=True)) == naive
    assert n_tied > 0  # the tie-break decided some merges


def test_round_trip_with_merges_learned_on_unicode(bpe):
    # Merges learned on non-ASCII text join bytes inside a character, so some tokens
    # are not valid UTF-8 alone; decoding must still give the text back.
    n_bytes = bpe["N_BYTES"]
    rng = random.Random(7)
    pools = [*POOLS["accented"], *POOLS["cjk and hangul"], *POOLS["emoji"], " "]
    text = "".join(rng.choice(pools) for _ in range(20000))
    merges, _, _ = bpe["train_bpe"](text, 100)
    vocabulary = [bytes([b]) for b in range(n_bytes)]
    for a, b in merges:
        vocabulary.append(vocabulary[a] + vocabulary[b])

    def invalid(token: bytes) -> bool:
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False

    assert sum(invalid(token) for token in vocabulary[n_bytes:]) > 0
    encode, decode = bpe["encode"], bpe["decode"]
    for sample in [text[:3000], *generated_strings(seed=8, count=200)]:
        assert decode(encode(sample, merges), vocabulary) == sample
    used = {i for i in encode(text[:3000], merges) if invalid(vocabulary[i])}
    assert used  # the round trip above met such tokens
