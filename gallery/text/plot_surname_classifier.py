r"""
Which language is this surname?
===============================

A surname often shows its language in its spelling: think of *Kowalski*, *Nakamura*
or *Nguyen*. This page trains two character-level classifiers that read a surname and
guess which of 18 languages it comes from, on the data of PyTorch's tutorial
"Classifying names with a character-level RNN". That tutorial feeds its network one
name at a time; here names travel in batches. You will learn:

* how names listed twice are split and scored, and how ``<unk>`` gets trained;
* how a recurrent network reads a batch of names of different lengths through packed
  sequences, and a convolution through padding and a mask;
* how much faster batches train than one name at a time, measured in the same run;
* how to compare two classifiers on validation with the noise of the comparison.
"""

# %%
# The data, and a split made before anything else
# ------------------------------------------------
# The 18 files list surnames under their language. The library reads each line in
# Unicode NFKC form with its whitespace collapsed, and drops a line that has a
# character other than a letter, apostrophe, hyphen or space, or more than
# ``MAX_WORDS`` words (:func:`~pytorch_examples.data.surnames.clean_name`). Repeats
# are dropped by exact (normalised) spelling: each distinct (name, language) pair is
# kept once. The split assigns whole names, all pairs of a name to one set, stratified
# by language (a name listed twice goes with its rarer language).
import copy
import math
import time
from collections import Counter, defaultdict

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from pytorch_examples.claims import check
from pytorch_examples.comparison import paired_difference, timing_difference
from pytorch_examples.data.surnames import (
    LANGUAGES,
    MAX_WORDS,
    CharacterAlphabet,
    clean_name,
    load_surnames,
    pad_names,
    split_surnames,
    surnames_dir,
)
from pytorch_examples.reporting import format_table

SEED = 42
MIN_CHARACTER_COUNT = 5  # a rarer training character is read as <unk>
EMBEDDING_DIM = 32  # numbers per character
HIDDEN_SIZE = 128  # state of the recurrent network, channels of the convolution
KERNEL_SIZE = 3  # characters one convolution filter reads at once
BATCH_SIZE = 64
N_EPOCHS = 6
LEARNING_RATE = 3e-3
N_TIMED_NAMES = 256  # training names, drawn at random, per timing
N_TIMING_REPEATS = 5  # timings of each way, alternated
EXAMPLE_NAMES = ("Lewandowski", "Papadopoulos", "Kuznetsov", "Tran", "Okafor", "Øster")

torch.manual_seed(SEED)
folder = surnames_dir()
lines = {lang: (folder / f"{lang}.txt").read_text("utf-8").splitlines() for lang in LANGUAGES}
arabic = lines["Arabic"]
print(f"{len(lines)} files; Arabic.txt: {len(arabic)} lines, {len(set(arabic))} distinct")
rejected = {line for f in lines.values() for line in f if line.strip() and not clean_name(line)}
print(f"lines that are not surnames (MAX_WORDS = {MAX_WORDS}):", sorted(rejected))
pairs = load_surnames()
splits = split_surnames(pairs, seed=SEED)
languages_of = defaultdict(set)
for name, language in pairs:
    languages_of[name].add(language)
names_per_language = Counter(language for _, language in pairs)
print(f"{len(pairs)} distinct (name, language) pairs, {len(languages_of)} distinct names")
scottish = {name for name, language in pairs if language == "Scottish"}
also_english = {name for name in scottish if "English" in languages_of[name]}
print(f"Scottish names also listed as English: {len(also_english)} of {len(scottish)}")
check(len(also_english) > 0.9 * len(scottish), "over 90 % of Scottish names are also English")
print("names per language:", ", ".join(f"{k} {n}" for k, n in names_per_language.most_common()))
print(f"pairs per set: train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)}")
train_names = {name for name, _ in splits.train}
check(
    not train_names & {name for name, _ in splits.val + splits.test},
    "no training name is in the validation or test set",
)

# %%
# Almost every Scottish name is also an English one: this data cannot tell Scottish
# from English. A model trains on both pairs of such a name; in scoring, a guess is
# right if it is **any** of the name's languages. Scoring each pair alone would cap
# every name with two languages at half right, whatever the model guesses. The next
# two pages score the same way, pair by pair, crediting a guess of any of the name's
# languages to the pair's own.
#
# The alphabet comes from the training names
# ------------------------------------------
# Every validation name is new to the model, by the split, so it reads characters.
# The alphabet is made from the training names only. A character they show fewer
# than ``MIN_CHARACTER_COUNT`` times is read as the unknown symbol ``<unk>``, so that
# training names contain ``<unk>`` and its embedding is learnt: a character never seen
# in training then reads as a trained ``<unk>``, not an untouched random vector.
# Index 0, ``<pad>``, fills a batch out to its longest name.
alphabet = CharacterAlphabet(sorted(train_names), min_count=MIN_CHARACTER_COUNT)
print(f"{len(alphabet)} symbols: {''.join(alphabet.symbols[2:])!r} and <pad>, <unk>")
print("rare training characters, read as <unk>:", alphabet.rare)
val_names = sorted({name for name, _ in splits.val})
for name in val_names:
    if alphabet.unknown_characters(name):
        print(f"  {name!r}: {alphabet.unknown_characters(name)} read as <unk>")
check(alphabet.encode("Øster")[0] == 1, "the Ø of 'Øster', never seen in training, is <unk>")

# %%
# Two models that read a batch of names
# -------------------------------------
# :func:`~pytorch_examples.data.surnames.pad_names` pads a batch with index 0 and keeps
# each name's length. Packing the batch (:func:`~torch.nn.utils.rnn.pack_padded_sequence`)
# tells the GRU where each name ends, so its final state is the one after the name's
# last character. The convolution reads ``KERNEL_SIZE`` characters at a time and each
# channel keeps its maximum over the name: a channel that responds to a short spelling
# (*-ski*, *-ov*, *Mc*) fires wherever that spelling is, which suits surnames, whose
# language shows in such pieces. Padding embeds as zeros (``padding_idx``), the zeros
# the convolution pads its edges with, and a mask keeps it out of the maximum.


class GRUClassifier(nn.Module):
    """Embed characters, run a GRU over the packed batch, classify its final state."""

    def __init__(self, n_symbols: int, n_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, EMBEDDING_DIM, padding_idx=0)
        self.gru = nn.GRU(EMBEDDING_DIM, HIDDEN_SIZE, batch_first=True)
        self.output = nn.Linear(HIDDEN_SIZE, n_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(
            self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False
        )
        _, final_state = self.gru(packed)  # (1, batch, hidden), in the batch's order
        return self.output(final_state[0])


class CNNClassifier(nn.Module):
    """Embed characters, convolve, take each channel's maximum over the name's positions."""

    def __init__(self, n_symbols: int, n_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, EMBEDDING_DIM, padding_idx=0)
        self.conv = nn.Conv1d(EMBEDDING_DIM, HIDDEN_SIZE, KERNEL_SIZE, padding=KERNEL_SIZE // 2)
        self.output = nn.Linear(HIDDEN_SIZE, n_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        features = F.relu(self.conv(self.embedding(tokens).transpose(1, 2)))
        padded = torch.arange(tokens.shape[1]) >= lengths[:, None]  # (batch, length)
        return self.output(features.masked_fill(padded[:, None], -torch.inf).amax(dim=2))


# %%
# Training, and scoring on validation
# -----------------------------------
# Both models train on the same batches for ``N_EPOCHS`` epochs, an epoch of one and
# then an epoch of the other, so that a change in the machine's load hits both alike;
# validation is scored after each epoch, and each epoch is timed.
language_index = {language: i for i, language in enumerate(LANGUAGES)}


def train_epoch(model, optimizer, pairs, batch_size, generator):
    """One pass over ``pairs`` in shuffled batches of padded names."""
    model.train()
    order = torch.randperm(len(pairs), generator=generator).tolist()
    for start in range(0, len(order), batch_size):
        chosen = [pairs[i] for i in order[start : start + batch_size]]
        targets = torch.tensor([language_index[language] for _, language in chosen])
        loss = F.cross_entropy(model(*pad_names([n for n, _ in chosen], alphabet)), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def predict_logits(model, names):
    model.eval()
    return model(*pad_names(names, alphabet))


# right[i, c]: language c is one of validation name i's languages
right = torch.tensor([[lang in languages_of[n] for lang in LANGUAGES] for n in val_names])
K = len(LANGUAGES)
models = {"GRU": GRUClassifier(len(alphabet), K), "CNN": CNNClassifier(len(alphabet), K)}
untrained = copy.deepcopy(models)
optimizers = {k: torch.optim.Adam(m.parameters(), LEARNING_RATE) for k, m in models.items()}
generators = {label: torch.Generator().manual_seed(SEED) for label in models}  # same batches
val_accuracy = {label: [] for label in models}
epoch_seconds = {label: [] for label in models}
for _ in range(N_EPOCHS):
    for label, model in models.items():
        start = time.perf_counter()
        train_epoch(model, optimizers[label], splits.train, BATCH_SIZE, generators[label])
        epoch_seconds[label].append(time.perf_counter() - start)
        guesses = predict_logits(model, val_names).argmax(dim=1)
        val_accuracy[label].append(right.gather(1, guesses[:, None]).float().mean().item())
for label in models:
    print(f"{label}: validation accuracy by epoch", [round(a, 3) for a in val_accuracy[label]])

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, accuracies in val_accuracy.items():
    ax.plot(range(1, N_EPOCHS + 1), accuracies, marker="o", label=label)
ax.set(xlabel="epoch", ylabel="validation accuracy")
ax.legend()
ax.grid(True, alpha=0.3)
fig.tight_layout()

# %%
# Both models give a name the same output in a batch as alone, and the ``<unk>`` row
# of each embedding moved in training (an unused row of an Adam-trained embedding
# gets no gradient and stays exactly where it started):
for label, model in models.items():
    batch = val_names[:: len(val_names) // BATCH_SIZE]  # names from all over the alphabet
    alone = torch.cat([predict_logits(model, [name]) for name in batch])
    check(
        torch.allclose(predict_logits(model, batch), alone, atol=1e-5),
        f"the {label} gives each name the same output in a batch as alone",
    )
    moved = (model.embedding.weight - untrained[label].embedding.weight).norm(dim=1).detach()
    print(f"{label}: <unk> row moved {moved[1]:.3f}, median character {moved[2:].median():.3f}")
    check(moved[1] > 0, f"the <unk> row of the {label}'s embedding moved in training")

# %%
# Which model is better, and by how much?
# ---------------------------------------
# The difference is taken name by name on the same validation names: the
# cross-entropy (minus the log of the probability of any of the name's languages) and
# whether the guess is one of them. The standard error covers the validation set's
# noise, not retraining with another seed, which was not measured. The tie rule,
# fixed before: keep the model that trains faster. Timings are compared as logs, so
# the difference is the log of their ratio and a machine-wide slowdown moves it less.
log_probabilities = {k: F.log_softmax(predict_logits(m, val_names), 1) for k, m in models.items()}
# minus the log of the total probability of the name's languages
losses = {
    k: -lp.masked_fill(~right, -torch.inf).logsumexp(1) for k, lp in log_probabilities.items()
}
correct = {
    label: right.gather(1, lp.argmax(dim=1)[:, None])[:, 0]
    for label, lp in log_probabilities.items()
}
loss_gap = paired_difference(losses["GRU"], losses["CNN"])
accuracy_gap = paired_difference(correct["GRU"], correct["CNN"])
print("validation cross-entropy:", loss_gap.describe("GRU", "CNN"))
print("validation accuracy:     ", accuracy_gap.describe("GRU", "CNN"))
check(
    loss_gap.within_noise() and accuracy_gap.within_noise(),
    "the two models are within noise of each other on validation cross-entropy and accuracy",
)


def log_time_gap(seconds_a, seconds_b):
    """Compare two sets of timings by their logarithms."""
    return timing_difference([math.log(t) for t in seconds_a], [math.log(t) for t in seconds_b])


epoch_gap = log_time_gap(epoch_seconds["GRU"], epoch_seconds["CNN"])
print(f"an epoch of the GRU takes {math.exp(epoch_gap.difference):.1f} times as long as the CNN's")
print("log of the epoch times:", epoch_gap.describe("GRU", "CNN", digits=3))
check(epoch_gap.a_higher(), "an epoch of the GRU takes longer than one of the CNN")

# %%
# The two models tie, and the convolution trains faster, so it is kept: the next page,
# :doc:`plot_unbalanced_classes`, retrains it. No test name is read here: the surname
# test set is scored once, at the end of :doc:`plot_class_weights`, with the model its
# validation comparison chooses, so that no choice on any page sees it.
#
# One name at a time against batches
# ----------------------------------
# The tutorial trains one name at a time. Here the same untrained GRU trains on
# ``N_TIMED_NAMES`` training names drawn at random, in batches of one and of
# ``BATCH_SIZE``, each way timed ``N_TIMING_REPEATS`` times, alternately; the ratio is
# the speed-up per pass over the same names. A batch of one still goes through padding
# and packing here, a small overhead the tutorial's loop lacks, and one name at a time
# also means one optimizer step per name.
sample = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(SEED))
timed_pairs = [splits.train[i] for i in sample[:N_TIMED_NAMES].tolist()]
seconds = {1: [], BATCH_SIZE: []}
for _ in range(N_TIMING_REPEATS):
    for batch_size in seconds:
        model = copy.deepcopy(untrained["GRU"])
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        start = time.perf_counter()
        train_epoch(model, optimizer, timed_pairs, batch_size, generators["GRU"])
        seconds[batch_size].append(time.perf_counter() - start)
timing_gap = log_time_gap(seconds[1], seconds[BATCH_SIZE])
speedup = math.exp(timing_gap.difference)  # the ratio of the geometric mean times
print(f"a pass one name at a time takes {speedup:.1f} times as long as in batches of {BATCH_SIZE}")
print("log of the times:", timing_gap.describe("one at a time", "batched", digits=3))
check(
    speedup > 1 and timing_gap.a_higher(),
    "a pass over the names one at a time takes longer than in batches",
)

# %%
# The model's top three guesses
# -----------------------------
# The convolution's three likeliest languages for a few names that are in none of the
# 18 files, with a message for each character outside the training alphabet. *Okafor*
# is a Nigerian name, from none of the 18 languages, yet its first guess gets more
# probability than its second and third together: a softmax probability is not a
# detector of names from outside the 18, only of which of them the model prefers.
check(
    not set(EXAMPLE_NAMES) & {name for name, _ in pairs},
    "none of the example names is in the data set",
)
for name in EXAMPLE_NAMES:
    for character in alphabet.unknown_characters(name):
        print(f"{name}: {character!r} is not in the training alphabet; read as <unk>")
top = F.softmax(predict_logits(models["CNN"], list(EXAMPLE_NAMES)), dim=1).topk(3, dim=1)
rows = [
    [name, *(f"{LANGUAGES[i]} {p:.2f}" for p, i in zip(ps.tolist(), ix.tolist(), strict=True))]
    for name, ps, ix in zip(EXAMPLE_NAMES, top.values, top.indices, strict=True)
]
print(format_table(["name", "first", "second", "third"], rows))
okafor = EXAMPLE_NAMES.index("Okafor")
check(
    top.values[okafor, 0] > top.values[okafor, 1:].sum(),
    "Okafor's first guess gets more probability than its second and third together",
)
