r"""
Accuracy on unbalanced classes
==============================

In the surnames of :doc:`plot_surname_classifier`, Russian names outnumber all others
together, and the smallest languages have a few dozen names. A classifier can then
score a high accuracy and still rarely get a small language right. This page retrains
the convolution of that page and looks past its accuracy. You will learn:

* precision, recall and F1 of each class, from the confusion matrix, and their macro
  and micro averages; why micro-F1 is the accuracy when each scored example has one
  label;
* what the majority-class baseline scores on each.

The next page, :doc:`plot_class_weights`, tries to raise the small languages' recall
and scores the section's test set.
"""

# %%
# The data and the model of the previous page
# -------------------------------------------
# The same split, alphabet and convolution, defined again so that this page runs on
# its own, and trained the same way. Scoring follows the previous page's rule, a guess
# is right if it is any of the name's languages, applied to each validation (name,
# language) pair so that every language has its row: a guess of any of the name's
# languages is credited to the pair's own. The test set is not read here.
from collections import defaultdict

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.surnames import (
    LANGUAGES,
    CharacterAlphabet,
    load_surnames,
    pad_names,
    split_surnames,
)
from pytorch_examples.evaluation import confusion_matrix
from pytorch_examples.plotting import plot_confusion_matrix
from pytorch_examples.reporting import format_table

SEED = 42
EMBEDDING_DIM = 32
HIDDEN_SIZE = 128  # channels of the convolution
KERNEL_SIZE = 3
MIN_CHARACTER_COUNT = 5
BATCH_SIZE = 64
N_EPOCHS = 6
LEARNING_RATE = 3e-3

torch.manual_seed(SEED)
pairs = load_surnames()
splits = split_surnames(pairs, seed=SEED)
train_set = sorted({name for name, _ in splits.train})
alphabet = CharacterAlphabet(train_set, min_count=MIN_CHARACTER_COUNT)
language_index = {language: i for i, language in enumerate(LANGUAGES)}
K = len(LANGUAGES)
languages_of = defaultdict(set)
for name, language in pairs:
    languages_of[name].add(language_index[language])
(train_names, train_y), (val_names, val_y) = (
    ([name for name, _ in part], torch.tensor([language_index[lang] for _, lang in part]))
    for part in (splits.train, splits.val)
)
train_counts = torch.bincount(train_y, minlength=K)


class CNNClassifier(nn.Module):
    """Embed characters, convolve, take each channel's maximum over the name's positions."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(alphabet), EMBEDDING_DIM, padding_idx=0)
        self.conv = nn.Conv1d(EMBEDDING_DIM, HIDDEN_SIZE, KERNEL_SIZE, padding=KERNEL_SIZE // 2)
        self.output = nn.Linear(HIDDEN_SIZE, K)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        features = F.relu(self.conv(self.embedding(tokens).transpose(1, 2)))
        padded = torch.arange(tokens.shape[1]) >= lengths[:, None]
        return self.output(features.masked_fill(padded[:, None], -torch.inf).amax(dim=2))


def train():
    """Train a fresh convolution on shuffled training pairs."""
    model = CNNClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(N_EPOCHS):
        order = torch.randperm(len(train_y), generator=generator)
        for start in range(0, len(order), BATCH_SIZE):
            chosen = order[start : start + BATCH_SIZE]
            logits = model(*pad_names([train_names[i] for i in chosen], alphabet))
            loss = F.cross_entropy(logits, train_y[chosen])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


@torch.no_grad()
def predict(model, names, targets):
    """Guesses, with a guess of any of a name's languages credited to the pair's own."""
    model.eval()
    guesses = model(*pad_names(names, alphabet)).argmax(dim=1).tolist()
    pairs = zip(names, guesses, targets.tolist(), strict=True)
    return torch.tensor([y if g in languages_of[n] else g for n, g, y in pairs])


generator = torch.Generator().manual_seed(SEED)
plain = train()
val_predicted = predict(plain, val_names, val_y)
accuracy = (val_predicted == val_y).double().mean().item()
majority = int(train_counts.argmax())
majority_accuracy = (val_y == majority).double().mean().item()
print(f"{len(val_y)} validation pairs in {K} languages; convolution's accuracy {accuracy:.3f}")
print(f"always guessing {LANGUAGES[majority]}, the largest language: {majority_accuracy:.3f}")
check(majority_accuracy > 0.5, "always guessing Russian is right on more than half of validation")

# %%
# Always guessing Russian is right on more than half of the validation pairs, without
# reading them. An accuracy is worth only what it adds to that.
#
# Precision, recall and F1 of each language
# -----------------------------------------
# The confusion matrix counts ``matrix[true, predicted]``. For a class :math:`c`, the
# diagonal cell is its true positives :math:`TP_c`; the rest of its column are names
# wrongly given :math:`c` (false positives, :math:`FP_c`) and the rest of its row names
# of :math:`c` given another class (false negatives, :math:`FN_c`). Then
#
# .. math::
#
#    P_c = \frac{TP_c}{TP_c + FP_c}, \qquad R_c = \frac{TP_c}{TP_c + FN_c}, \qquad
#    F1_c = \frac{2 P_c R_c}{P_c + R_c}.
#
# A class never predicted has no precision; it counts as 0, as in scikit-learn with
# ``zero_division=0``, and so does an F1 whose precision and recall are both 0.


def per_class_scores(confusion):
    """Precision, recall and F1 of each class from ``confusion[true, predicted]``."""
    confusion = confusion.double()
    true_positives = confusion.diagonal()
    predicted, actual = confusion.sum(dim=0), confusion.sum(dim=1)
    precision = torch.where(predicted > 0, true_positives / predicted.clamp(min=1), 0.0)
    recall = torch.where(actual > 0, true_positives / actual.clamp(min=1), 0.0)
    both = precision + recall
    f1 = torch.where(both > 0, 2 * precision * recall / both.clamp(min=1e-12), 0.0)
    return precision, recall, f1


def averages(confusion):
    """Macro averages (the mean over classes) and micro-F1 (from summed counts)."""
    precision, recall, f1 = per_class_scores(confusion)
    true_positives = confusion.diagonal().sum().item()
    micro_precision = true_positives / confusion.sum(dim=0).sum().item()
    micro_recall = true_positives / confusion.sum(dim=1).sum().item()
    micro_f1 = 2 * micro_precision * micro_recall / (micro_precision + micro_recall)
    return {
        "macro precision": precision.mean().item(),
        "macro recall": recall.mean().item(),
        "macro F1": f1.mean().item(),
        "micro F1": micro_f1,
    }


val_confusion = confusion_matrix(val_predicted, val_y, K)
precision, recall, f1 = per_class_scores(val_confusion)
support = val_confusion.sum(dim=1)
order = support.argsort(descending=True)
rows = [
    [LANGUAGES[c], int(support[c]), *(x[c].item() for x in (precision, recall, f1))] for c in order
]
print(format_table(["language", "val pairs", "precision", "recall", "F1"], rows, digits=2))

largest = order[:3]
largest_share = (support[largest].sum() / support.sum()).item()
print(
    f"the three largest languages: {largest_share:.0%} of the pairs, mean F1 "
    f"{f1[largest].mean():.2f}; the other 15: mean F1 {f1[order[3:]].mean():.2f}"
)
check(
    largest_share > 0.5 and f1[largest].min() > f1[order[3:]].mean(),
    "the three largest languages hold most pairs, and each has a higher F1 than the mean "
    "of the other 15",
)

fig, ax = plt.subplots(figsize=(9, 8))
plot_confusion_matrix(ax, val_confusion, LANGUAGES)
ax.set_title("validation confusion matrix of the convolution")
fig.tight_layout()
mistakes = val_confusion.clone().fill_diagonal_(0)
largest_mistakes = [divmod(i, K) for i in mistakes.flatten().argsort(descending=True)[:4].tolist()]
for true, guess in largest_mistakes:
    print(f"{LANGUAGES[true]} given as {LANGUAGES[guess]}: {int(mistakes[true, guess])}")
check(
    all(LANGUAGES[guess] in ("Russian", "English") for _, guess in largest_mistakes),
    "the four largest off-diagonal cells are names given as Russian or English",
)
smaller = order[K // 2 :]  # the nine languages with the fewest validation pairs
big_two = [language_index["Russian"], language_index["English"]]
misses = mistakes[smaller].sum().item()
to_big_two = mistakes[smaller][:, big_two].sum().item()
print(
    f"misses of the nine smaller languages: {misses:.0f}, of which {to_big_two:.0f} "
    f"({to_big_two / misses:.0%}) given as Russian or English"
)
check(
    to_big_two > misses / 2,
    "most misses of the nine smaller languages are guesses of Russian or English",
)

# %%
# In the matrix, the four largest off-diagonal cells, printed above, are names of
# other languages given as Russian or English, and most misses of the nine smaller
# languages go the same way: when unsure, the model falls back on the two largest
# languages. (The Scottish row looks good only because of the scoring rule: most
# Scottish names are also listed as English, as :doc:`plot_surname_classifier` counts,
# and a guess of English counts for them.) The accuracy differs a little from that of
# the previous page's convolution, trained the same way, because its starting weights
# differ (there, the GRU was built first from the same random state): a glimpse of how
# much retraining alone moves it.
#
# Macro and micro averages
# ------------------------
# The macro average is the plain mean over the 18 languages: Vietnamese counts as much
# as Russian. The micro average first sums the counts over classes. With one label per
# scored (name, language) pair, every mistake is one false positive (for the class
# guessed) and one false negative (for the true class), so
# :math:`\sum_c FP_c = \sum_c FN_c` = the number of mistakes, micro precision and
# micro recall are both the share of pairs guessed right, and micro-F1 is the
# accuracy. The gap between macro-F1 and accuracy is wider for the majority baseline
# than for the model.
model_scores = averages(val_confusion)
baseline_scores = averages(confusion_matrix(torch.full_like(val_y, majority), val_y, K))
table = [["convolution", *model_scores.values()], ["majority", *baseline_scores.values()]]
print(format_table(["on validation", *model_scores], table, digits=3))
check(abs(model_scores["micro F1"] - accuracy) < 1e-12, "micro-F1 equals the accuracy")
model_gap, baseline_gap = (
    accuracy - model_scores["macro F1"],
    majority_accuracy - baseline_scores["macro F1"],
)
check(
    0 < model_gap < baseline_gap and baseline_scores["macro F1"] < majority_accuracy / 10,
    "macro-F1 is below the accuracy, the gap is wider for the baseline than for the model, "
    "and the baseline's macro-F1 is below a tenth of its accuracy",
)

# %%
# The model's macro-F1 is below its accuracy because the three largest languages, whose
# F1 is high, hold most of the pairs and so most of the accuracy, but count for three
# of the 18 in the macro average. The next page,
# :doc:`plot_class_weights`, weighs the languages in training to raise their recall,
# measures what that costs on validation, and scores the test set once.
