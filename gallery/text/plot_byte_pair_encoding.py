r"""
Byte-pair encoding
==================

:doc:`plot_shakespeare_gpt` reads the plays one character at a time; a *byte-pair
encoding* (BPE) makes tokens of frequent runs of characters. You will learn:

* how BPE learns merges from counted pairs, and encodes a new text by replaying them;
* why starting from bytes leaves no character unknown;
* how to check it against Hugging Face ``tokenizers``, tie-breaks included;
* how to compare models whose tokens differ: in nats per *character*, not per token.
"""

# %%
# Setup
# -----
# Encoding starts from the UTF-8 bytes of a text, so no input is unknown (characters
# would need a fallback for those training lacked). Tiny Shakespeare is ASCII, one byte
# per character, so here tokens per byte are tokens per character.
import json
import math
import re
from collections import Counter, defaultdict
from itertools import pairwise

import matplotlib.pyplot as plt
import torch
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import paired_difference
from pytorch_examples.data.shakespeare import load_shakespeare, split_by_position

SEED = 0
N_BYTES = 256  # the base tokens; the merge of rank k makes token N_BYTES + k
N_MERGES = 512
SPLIT_PATTERN = r" ?\w+| ?[^\s\w]+|\s+"  # a word with its leading space, punctuation, spaces
N_SHOWN = 12  # merges shown in the table
MERGE_COUNTS = (0, 32, 64, 128, 256, 512)  # vocabularies measured on validation
UNSEEN = "Romeo's café — ☃ 🎭"  # with characters the training text lacks
BLOCK = 64  # tokens a model reads at once
WIDTH = 64
N_LAYERS = 2
N_HEADS = 4
ROWS = 16  # blocks per training step
N_STEPS = 1000
LEARNING_RATE = 3e-3
EVAL_EVERY = 200
SEGMENT_CHARS = 1000  # validation characters per group of the paired comparison
WIDE_SEGMENT_CHARS = 5000  # the same with wider groups

splits = split_by_position(load_shakespeare())
train_text, val_text = splits.train, splits.val
print(f"training {len(train_text):,} characters, validation {len(val_text):,}")
check(train_text.isascii() and val_text.isascii(), "the training and validation text is ASCII")

# %%
# Learning the merges
# -------------------
# The text is cut into chunks by ``SPLIT_PATTERN``, so no token spans two words, and
# each distinct chunk is kept once with its count. Each step merges the most frequent
# adjacent pair, everywhere, into a new token (a tie goes to the smallest pair of ids),
# and counts again the pairs of the chunks that changed.


def merge(ids, pair, new_id):
    """Replace each occurrence of ``pair`` in ``ids``, left to right, by ``new_id``."""
    merged, k = [], 0
    while k < len(ids):
        found = tuple(ids[k : k + 2]) == pair
        merged.append(new_id if found else ids[k])
        k += 2 if found else 1
    return merged


def train_bpe(text, n_merges):
    """The merges as (first id, second id) in order, their counts, and how many broke a tie."""
    chunk_counts = Counter(re.findall(SPLIT_PATTERN, text))
    chunks = [list(chunk.encode()) for chunk in chunk_counts]
    counts = list(chunk_counts.values())
    pair_counts, holders = Counter(), defaultdict(set)  # holders: chunks that hold a pair

    def count_pairs(i, sign):
        for pair in pairwise(chunks[i]):
            pair_counts[pair] += sign * counts[i]
            holders[pair].add(i)

    for i in range(len(chunks)):
        count_pairs(i, +1)
    merges, merge_counts, n_tied = [], [], 0
    for rank in range(n_merges):
        best = min(pair_counts, key=lambda pair: (-pair_counts[pair], pair))
        merges.append(best)
        merge_counts.append(pair_counts[best])
        n_tied += list(pair_counts.values()).count(pair_counts[best]) > 1
        for i in holders.pop(best):
            count_pairs(i, -1)
            chunks[i] = merge(chunks[i], best, N_BYTES + rank)
            count_pairs(i, +1)
        pair_counts = +pair_counts  # drops the pairs that no chunk holds any more
    return merges, merge_counts, n_tied


merges, merge_counts, n_tied = train_bpe(train_text, N_MERGES)
vocabulary = [bytes([b]) for b in range(N_BYTES)]  # the bytes each token id stands for
for first, second in merges:
    vocabulary.append(vocabulary[first] + vocabulary[second])
print(f"{N_MERGES} merges, vocabulary {len(vocabulary)}; {n_tied} chose among tied pairs")
print("rank    first + second   -> token      count")
for rank, pair in enumerate(merges[:N_SHOWN]):
    a, b, ab = (repr(vocabulary[i].decode()) for i in (*pair, N_BYTES + rank))
    print(f"{rank:4d}  {a:>7} + {b:<8} -> {ab:<9} {merge_counts[rank]:6d}")
check(b" the" in vocabulary[N_BYTES : N_BYTES + N_SHOWN], "' the' is among the merges shown")

# %%
# The first merges join a space to the letter that starts a word, or two letters that
# often follow each other; soon merged tokens merge again, as ``' the'`` does.
#
# Encoding and decoding
# ---------------------
# A new text is cut into chunks the same way, and in each chunk the present pair of
# lowest rank is merged, again and again. That equals applying the whole list in order:
# a merge only creates pairs that hold its new token, which rank after it. Decoding
# joins the tokens' bytes and reads them as UTF-8. A character training never saw
# stays as its bytes, one token each, and comes back exactly.


def encode(text, merges):
    """Token ids of ``text`` under ``merges``; each distinct chunk is encoded once."""
    rank_of = {pair: rank for rank, pair in enumerate(merges)}
    encoded, ids = {}, []
    for chunk in re.findall(SPLIT_PATTERN, text):
        if chunk not in encoded:
            tokens = list(chunk.encode())
            while len(tokens) > 1:
                pair = min(pairwise(tokens), key=lambda p: rank_of.get(p, math.inf))
                if pair not in rank_of:
                    break
                tokens = merge(tokens, pair, N_BYTES + rank_of[pair])
            encoded[chunk] = tokens
        ids += encoded[chunk]
    return ids


def decode(ids, vocabulary):
    return b"".join(vocabulary[i] for i in ids).decode("utf-8")


unseen_ids = encode(UNSEEN, merges)
print(f"{UNSEEN!r}: {len(UNSEEN)} characters, {len(UNSEEN.encode())} bytes")
print(f"{len(unseen_ids)} tokens: {[vocabulary[i] for i in unseen_ids]}")
check(decode(unseen_ids, vocabulary) == UNSEEN, "the text with unseen characters comes back")

# %%
# Checked against ``tokenizers``
# ------------------------------
# ``tokenizers`` gets the same chunks (its ``Split`` pre-tokenizer with
# ``SPLIT_PATTERN``) and, as alphabet, the ``N_BYTES`` characters whose codes are the
# byte values, each standing for its byte on ASCII text. Its trainer numbers the
# alphabet in code order and new tokens after it, as ours does, as long as no merge makes
# a string already in the vocabulary (it would reuse that id; the check below rules this
# out), and breaks a tie by the smallest pair of ids (``impl Ord for Merge`` in its
# ``trainer.rs``); the merges chosen among tied pairs test that reading of its source.
reference = Tokenizer(models.BPE())
reference.pre_tokenizer = pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated")
alphabet = [chr(code) for code in range(N_BYTES)]
trainer = trainers.BpeTrainer(vocab_size=len(vocabulary), initial_alphabet=alphabet)
trainer.show_progress = False
reference.train_from_iterator([train_text], trainer)
their_chunks = [chunk for chunk, _ in reference.pre_tokenizer.pre_tokenize_str(train_text)]
their_merges = json.loads(reference.to_str())["model"]["merges"][:N_MERGES]
our_merges = [[vocabulary[i].decode() for i in pair] for pair in merges]
n_agree = sum(ours == theirs for ours, theirs in zip(our_merges, their_merges, strict=True))
val_ids = encode(val_text, merges)
print(f"{n_agree} of the first {N_MERGES} merges agree, in order")
check(their_chunks == re.findall(SPLIT_PATTERN, train_text), "both cut the same chunks")
check(len(set(vocabulary)) == len(vocabulary), "all vocabulary strings are distinct")
check(n_agree == N_MERGES and n_tied > 0, "all merges agree, those chosen among ties included")
check(reference.encode(val_text).ids == val_ids, "both encode the validation text alike")

# %%
# Tokens per character
# --------------------
# On the validation text, tokens per character fall with every step of
# ``MERGE_COUNTS``, and a block of ``BLOCK`` tokens covers more characters.
tokens_per_character = {m: len(encode(val_text, merges[:m])) / len(val_text) for m in MERGE_COUNTS}
for m, ratio in tokens_per_character.items():
    print(f"{m:4d} merges: {ratio:.3f} tokens per character")
val_lengths = torch.tensor([len(vocabulary[i]) for i in val_ids])  # characters per token
block_chars = val_lengths[: len(val_ids) // BLOCK * BLOCK].view(-1, BLOCK).sum(dim=1)
print(f"a block of {BLOCK} BPE tokens covers {block_chars.double().mean():.1f} characters")
falling = all(a > b for a, b in pairwise(tokens_per_character.values()))
check(falling, "the tokens per character fall at each step of MERGE_COUNTS")

# %%
# Loss per token and loss per character
# -------------------------------------
# A model that spends :math:`S` nats on a text of :math:`N` characters, cut into
# :math:`T` tokens, has a loss of :math:`S / T` per token and of
# :math:`S / N = (S / T) \cdot (T / N)` per character. A BPE token holds several
# characters, so its loss is larger even when it predicts the text better; the loss per
# character compares the two. Both models are one small GPT, with pre-norm blocks as on
# :doc:`/auto_examples/language/plot_transformer` but from PyTorch's encoder layers,
# trained for ``N_STEPS`` steps of ``ROWS`` random blocks of ``BLOCK`` tokens. Each
# reads the validation text in consecutive blocks, and a token's loss is spread evenly
# over its characters: both score each character after the first BPE token.


class GPT(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, WIDTH)
        self.position_embedding = nn.Embedding(BLOCK, WIDTH)
        layer = nn.TransformerEncoderLayer(  # without dropout: no mode to switch
            WIDTH, N_HEADS, 4 * WIDTH, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, N_LAYERS, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(WIDTH), nn.Linear(WIDTH, vocab_size))

    def forward(self, tokens):
        length = tokens.shape[1]
        x = self.token_embedding(tokens) + self.position_embedding(torch.arange(length))
        mask = nn.Transformer.generate_square_subsequent_mask(length)
        return self.head(self.blocks(x, mask=mask, is_causal=True))


def token_losses(model, ids):
    """The loss of each token after the first, reading ``ids`` in consecutive blocks."""
    windows = list(torch.tensor(ids[:-1]).split(BLOCK))
    last = windows.pop()
    with torch.no_grad():
        logits = torch.cat([model(torch.stack(windows)).flatten(0, 1), model(last[None])[0]])
    return F.cross_entropy(logits, torch.tensor(ids[1:]), reduction="none").double()


def per_character(losses, ids, n_scored):
    """Each token's loss spread evenly over its characters; those of the last ``n_scored``."""
    lengths = torch.tensor([len(vocabulary[i]) for i in ids[1:]])
    return torch.repeat_interleave(losses / lengths, lengths)[-n_scored:]


def train_gpt(name, merges):
    """Train a GPT on ``merges``; its validation scores per character, by characters read."""
    torch.manual_seed(SEED)
    stream, val_ids = torch.tensor(encode(train_text, merges)), encode(val_text, merges)
    characters_per_step = ROWS * BLOCK * len(train_text) / len(stream)  # on average
    model = GPT(N_BYTES + len(merges))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, N_STEPS)
    curve = {}
    for step in range(1, N_STEPS + 1):
        starts = torch.randint(len(stream) - BLOCK, (ROWS,)).tolist()
        rows = torch.stack([stream[s : s + BLOCK + 1] for s in starts])
        loss = F.cross_entropy(model(rows[:, :-1]).flatten(0, 1), rows[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % EVAL_EVERY == 0:
            losses = token_losses(model, val_ids)
            curve[step * characters_per_step] = per_character(losses, val_ids, n_scored)
    n_parameters = sum(p.numel() for p in model.parameters())
    print(f"{name}: {n_parameters:,} parameters; {characters_per_step:,.0f} characters a step,")
    print(f"   {N_STEPS * characters_per_step:,.0f} characters read in all")
    return model, curve


n_scored = len(val_text) - len(vocabulary[val_ids[0]])  # characters after the first token
char_model, char_curve = train_gpt("characters", [])
bpe_model, bpe_curve = train_gpt("BPE", merges)

# %%
# At equal steps, and at equal characters read
# --------------------------------------------
# Scores are paired character by character, in groups of ``SEGMENT_CHARS`` (and of
# ``WIDE_SEGMENT_CHARS``) characters, as a block's characters share their context: the
# final ones, then the character model's final ones with the BPE model's at its last
# evaluation before it had read more characters than the character model in all.
char_read, bpe_read = max(char_curve), max(bpe_curve)
char_scores, bpe_scores = char_curve[char_read], bpe_curve[bpe_read]
bpe_losses = token_losses(bpe_model, val_ids)
scored_ratio = len(bpe_losses) / n_scored
print(f"{n_scored:,} characters scored; characters: {char_scores.mean():.4f} nats per character")
print(f"BPE: {bpe_losses.mean():.4f} nats per token x {scored_ratio:.4f} tokens per character")
print(f"   = {bpe_losses.mean() * scored_ratio:.4f}; per character {bpe_scores.mean():.4f}")
check(math.isclose(bpe_losses.sum(), bpe_scores.sum()), "spreading keeps every token's nats")
position = torch.arange(n_scored)
gap = paired_difference(bpe_scores, char_scores, groups=position // SEGMENT_CHARS)
wide = paired_difference(bpe_scores, char_scores, groups=position // WIDE_SEGMENT_CHARS)
print(gap.describe("BPE", "characters"))
print(f"   in groups of {WIDE_SEGMENT_CHARS}: ± {wide.standard_error:.4f} ({wide.z:+.1f})")
check(gap.a_lower() and wide.a_lower(), "at equal steps the BPE model is lower, beyond the noise")
early_read = max(read for read in bpe_curve if read <= char_read)
early = paired_difference(bpe_curve[early_read], char_scores, groups=position // SEGMENT_CHARS)
print(f"BPE after {early_read:,.0f} characters read, characters after {char_read:,.0f}:")
print(early.describe("BPE", "characters"))
print(f"   {early.difference / gap.difference:.0%} of the gap at equal steps")
check(early.a_lower(), "with fewer characters read the BPE model is still lower, beyond the noise")
check(early.difference > gap.difference, "the gap is smaller than at equal steps")
curves = {"characters": char_curve, f"BPE, {N_MERGES} merges": bpe_curve}
means = {label: [s.mean().item() for s in curve.values()] for label, curve in curves.items()}
falling = all(a > b for losses in means.values() for a, b in pairwise(losses))
check(falling, "both validation curves fall at every evaluation")

for label, curve in curves.items():
    plt.plot([read / 1e6 for read in curve], means[label], marker="o", label=label)
plt.axvline(char_read / 1e6, color="gray", linestyle=":", label="what the character model read")
plt.gca().set(xlabel="training characters read (millions)", ylabel="nats per character")
plt.title(f"validation loss, evaluated every {EVAL_EVERY} steps")
plt.legend()
plt.show()

# %%
# Both curves fall at every evaluation; the BPE model's points spread over more
# characters read. At equal steps of ``ROWS`` x ``BLOCK`` tokens its loss per character
# is lower, beyond the noise in groups of either size. Having read fewer characters
# (its point just left of the dotted line, the character model's total) it is still
# lower beyond the noise, by less (its share of that gap is printed), part-way
# through a learning-rate schedule the character model has finished. Other things
# differ: a BPE block holds more characters of context (137.8 against ``BLOCK``), and
# its embedding and output layers are larger, as is its computation per token. This
# does not separate them, nor
# tell what larger models trained longer would do; the standard error covers the
# validation text, not another seed. Scoring only the BPE encoding of a text can only
# count against BPE, which gives some probability to other token sequences that spell
# it. Nothing was chosen from these runs; the test part is unused.
