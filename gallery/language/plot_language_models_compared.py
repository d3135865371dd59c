r"""
Language models compared
========================

Each of the five pages compared here trained a model of the same names, on the same
split, and scored it with the same metric: the mean negative log-likelihood per predicted
character, end of name included. This page puts their results side by side. Nothing
here is typed in: each page recorded what it measured when the site was built, and
this page reads the records back. You will learn:

* how far each step of the section, from counting pairs to self-attention, lowers
  the loss on names the models never saw;
* what each step costs in parameters and training time.

The pages run in reading order, so this one, last in the section, needs the five it
compares to have run first; alone, it stops with an error that names the pages to run.
"""

# %%
# The records
# -----------
# The training times were measured on the machine that built this site, counting only
# the training steps; for the count model, the time it took to count the pairs. Its
# parameters are the entries of its probability table, filled in by counting rather
# than by gradient descent. The recurrent page records its GRU, the better of its two
# networks.
import matplotlib.pyplot as plt

from pytorch_examples.claims import check
from pytorch_examples.reporting import format_table
from pytorch_examples.results import load_results

PAGES = {
    "plot_bigram_counts": "bigram counts",
    "plot_softmax_bigram": "softmax layer",
    "plot_mlp_language_model": "MLP",
    "plot_recurrent_network": "GRU",
    "plot_transformer": "transformer",
}
METRICS = ("parameters", "training_seconds", "val_loss", "test_loss")

results = load_results(list(PAGES))
for page, metrics in results.items():
    missing = [name for name in METRICS if name not in metrics]
    if missing:
        raise KeyError(f"{page} recorded no {', '.join(missing)}: run that page again")

labels = list(PAGES.values())
val = [results[page]["val_loss"] for page in PAGES]
test = [results[page]["test_loss"] for page in PAGES]
seconds = [results[page]["training_seconds"] for page in PAGES]
rows = [
    (label, f"{int(results[page]['parameters']):,}", f"{s:.3g}", v, t)
    for (page, label), s, v, t in zip(PAGES.items(), seconds, val, test, strict=True)
]
table = format_table(["model", "parameters", "training s", "val loss", "test loss"], rows, 3)
print(table)
print(f"lowest validation loss: {labels[val.index(min(val))]}")

# %%
# Both bigram models read one character and learn the same table, one by counting,
# one by gradient descent, so their losses are close. Every model that reads more
# than one character beats both of them, and the two models that read the whole name
# so far, the GRU and the transformer, beat the MLP, which reads a fixed window of the
# last few characters.
print(f"bigram models' validation losses differ by {abs(val[0] - val[1]):.4f}")
check(
    abs(val[0] - val[1]) < 0.01,
    "the two bigram models' validation losses differ by less than 0.01",
)
check(
    max(val[2:]) < min(val[:2]),
    "every model that reads more than one character has a lower validation loss than "
    "both bigram models",
)
check(
    max(val[3:]) < val[2],
    "the GRU and the transformer both have a lower validation loss than the MLP",
)

# %%
# The test names were scored once per page, after the validation names had made
# every choice; the figure shows both losses.
gaps = [t - v for v, t in zip(val, test, strict=True)]
print(f"test minus validation loss: {', '.join(f'{gap:+.3f}' for gap in gaps)}")

fig, (ax_loss, ax_time) = plt.subplots(1, 2, figsize=(11, 4))
positions = range(len(labels))
ax_loss.bar([p - 0.2 for p in positions], val, width=0.4, label="validation")
ax_loss.bar([p + 0.2 for p in positions], test, width=0.4, label="test")
ax_loss.set_xticks(list(positions), labels, rotation=20)
ax_loss.set_ylim(min(val + test) - 0.1, max(val + test) + 0.05)
ax_loss.set(ylabel="loss (nats per character)", title="loss on unseen names (axis not from 0)")
ax_loss.legend()
ax_loss.grid(True, axis="y", alpha=0.3)
ax_time.scatter(seconds, val)
# The last three points lie close together: their labels go left, below and right.
placements = [((5, 5), "left"), ((5, 5), "left"), ((-6, 4), "right"), ((0, -14), "center")]
placements.append(((6, -3), "left"))
for label, x, y, (offset, align) in zip(labels, seconds, val, placements, strict=True):
    ax_time.annotate(label, (x, y), textcoords="offset points", xytext=offset, ha=align)
ax_time.set(xlabel="training time (s, log scale)", ylabel="validation loss", xscale="log")
ax_time.set_title("loss against training time")
ax_time.margins(x=0.25, y=0.15)  # room for the labels
ax_time.grid(True, alpha=0.3)
fig.tight_layout()
plt.show()
