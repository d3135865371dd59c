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
* what each step costs in parameters and training time;
* how to find where one model gains on another, by pairing their losses prediction by
  prediction, and when a ranking is within noise.

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
import torch

from pytorch_examples.claims import check
from pytorch_examples.comparison import paired_difference, subset_contrast
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
NETWORKS = ("plot_mlp_language_model", "plot_recurrent_network", "plot_transformer")
NETWORK_METRICS = ("steps", "training_predictions", "val_losses", "val_positions")

results = load_results(list(PAGES))
for page, metrics in results.items():
    needed = METRICS + NETWORK_METRICS * (page in NETWORKS)
    missing = [name for name in needed if name not in metrics]
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

# %%
# Both bigram models read one character and learn nearly the same table, one by counting
# (with add-one smoothing), one by gradient descent, so their losses are close. Every
# model that reads more than one character has a lower validation loss than both, by the
# margin printed below. The bigram pages record no per-prediction losses, so this gap is
# not paired and has no standard error; compare its size with the standard errors
# further down.
print(f"bigram models' validation losses differ by {abs(val[0] - val[1]):.4f}")
print(f"smallest margin of a network below a bigram model: {min(val[:2]) - max(val[2:]):.3f}")
check(
    abs(val[0] - val[1]) < 0.01,
    "the two bigram models' validation losses differ by less than 0.01",
)
check(
    max(val[2:]) < min(val[:2]),
    "every model that reads more than one character has a lower validation loss than "
    "both bigram models",
)

# %%
# Unequal budgets
# ---------------
# The three networks were not trained on equal terms: the table gives each one's
# parameters, steps and training time. A step means something different on each
# page (a batch of contexts, of whole names, or of rows of packed names), so it also
# counts the characters that each page's training steps predicted, repeats included.
# Against the MLP, the GRU has more parameters but predicted fewer training
# characters, in fewer steps; the transformer has more parameters and predicted more
# characters, though in fewer steps. Each model was trained once, with one seed, and how
# much its loss would move with another seed is not measured. The standard errors below
# measure only the noise of the validation names, counting each name once, since the
# predictions within a name share their context: a difference within them is a tie, and
# one beyond them compares these trained models, not their architectures.
budget_rows = [
    (
        PAGES[page],
        f"{int(results[page]['parameters']):,}",
        f"{int(results[page]['steps']):,}",
        f"{int(results[page]['training_predictions']):,}",
        f"{results[page]['training_seconds']:.3g}",
    )
    for page in NETWORKS
]
budget_headers = ["model", "parameters", "steps", "characters predicted", "training s"]
print(format_table(budget_headers, budget_rows))
budget_keys = ("parameters", "steps", "training_predictions")
budget = {PAGES[page]: {key: results[page][key] for key in budget_keys} for page in NETWORKS}
check(
    budget["GRU"]["parameters"] > budget["MLP"]["parameters"]
    and budget["GRU"]["steps"] < budget["MLP"]["steps"]
    and budget["GRU"]["training_predictions"] < budget["MLP"]["training_predictions"]
    and budget["transformer"]["parameters"] > budget["MLP"]["parameters"]
    and budget["transformer"]["steps"] < budget["MLP"]["steps"]
    and budget["transformer"]["training_predictions"] > budget["MLP"]["training_predictions"],
    "the GRU has more parameters than the MLP but predicted fewer training characters in "
    "fewer steps; the transformer has more parameters and predicted more characters in "
    "fewer steps",
)

# %%
# Where the GRU and the transformer gain on the MLP
# -------------------------------------------------
# The MLP reads the last few characters; the GRU and the transformer read the whole
# name so far. Names are short, though: when a prediction has fewer letters before it
# than the MLP's window holds, the window still holds the boundary symbol that starts
# the name, and the MLP sees everything the other two see. Each of the three pages
# recorded the loss of every validation prediction, in the same order, with the number
# of letters before it, so the losses can be paired prediction by prediction (with
# :func:`~pytorch_examples.comparison.paired_difference`) and split by whether the
# whole name so far fits in the window. The share of a model's gain in the window is
# its summed loss reduction there over its summed reduction on all predictions. The
# positions restart at 0 with each name, which tells the names apart for the
# standard errors.
val_positions = results[NETWORKS[0]]["val_positions"]
for page in NETWORKS[1:]:
    if results[page]["val_positions"] != val_positions:
        raise ValueError(f"{page} recorded other validation predictions than {NETWORKS[0]}")
losses = {PAGES[page]: torch.tensor(results[page]["val_losses"]) for page in NETWORKS}
window = int(results[NETWORKS[0]]["context_length"])
in_window = torch.tensor(val_positions) < window
name_index = torch.cumsum(torch.tensor(val_positions) == 0, dim=0) - 1
print(
    f"the MLP's window of {window} holds the whole name so far for {int(in_window.sum())} "
    f"of {len(val_positions)} validation predictions ({in_window.float().mean():.1%}) of "
    f"{int(name_index.max()) + 1} names; {(~in_window).float().mean():.1%} lie beyond it"
)
parts = {"all": torch.ones_like(in_window), "in the window": in_window, "beyond": ~in_window}


def split_difference(label_a, label_b):
    """``label_a`` minus ``label_b``, paired, on every part; printed one line each."""
    differences = {}
    for part, chosen in parts.items():
        difference = paired_difference(
            losses[label_a][chosen], losses[label_b][chosen], groups=name_index[chosen]
        )
        print(f"{part:>13} ({int(chosen.sum()):5d}): {difference.describe(label_a, label_b)}")
        differences[part] = difference
    return differences


gains, in_window_share = {}, {}
for label in ("GRU", "transformer"):
    gains[label] = split_difference(label, "MLP")
    summed = {part: gains[label][part].difference * int(parts[part].sum()) for part in parts}
    in_window_share[label] = summed["in the window"] / summed["all"]
    print(
        f"{label}: {in_window_share[label]:.0%} of its gain is on predictions in the window, "
        f"{1 - in_window_share[label]:.0%} beyond it"
    )

# %%
# The MLP's window holds the whole name so far for 96.6 % of the predictions, and
# that is where most of each network's gain lies: the GRU and the transformer both
# have a lower loss than the MLP, beyond noise, even on predictions for which the MLP
# sees every character they see. So reading the whole name does not explain most of
# their lead: most of it comes from using the same characters better. Whether that is
# owed to their architectures or to the budgets in which they exceed the MLP (the
# GRU's parameters; the transformer's parameters and characters predicted), this
# comparison cannot say. The 3.4 % of predictions beyond the window, where only they
# can see the start of the name, carry a minority of each total. There the GRU gains
# more per prediction than in the window, by more than the noise
# (:func:`~pytorch_examples.comparison.subset_contrast` measures the contrast). The
# transformer's gain beyond the window has over 3 times the standard error of its gain
# in the window; its contrast is printed as well, but with so few predictions behind it
# this page rests nothing on its verdict.
check(in_window.float().mean() > 0.95, "the window holds the whole name so far for over 95 %")
check(
    all(gains[label]["in the window"].a_lower() for label in gains)
    and all(share > 0.5 for share in in_window_share.values()),
    "the GRU and the transformer both beat the MLP beyond noise on the predictions in its "
    "window, and most of each one's gain is there: the predictions beyond it carry a "
    "minority of each total",
)
contrasts = {}
for label in gains:
    contrasts[label] = subset_contrast(losses[label], losses["MLP"], ~in_window, groups=name_index)
    print(contrasts[label].describe(f"({label} - MLP) beyond the window", "in it"))
check(
    contrasts["GRU"].a_lower(),
    "beyond the window, the GRU gains more per prediction than in it, beyond noise",
)
transformer_errors = {part: gains["transformer"][part].standard_error for part in parts}
check(
    transformer_errors["beyond"] > 3 * transformer_errors["in the window"],
    "the transformer's gain beyond the window has over 3 times the standard error of its "
    "gain in the window",
)

# %%
# The GRU against the transformer
# -------------------------------
# With the budgets above and the seed spread unmeasured, the question is only whether
# these two trained models differ by more than the noise of the validation names.
# They do not: overall, the transformer minus the GRU is within noise, a tie. The two
# parts, split at the MLP's window, are printed as well. This page tests many
# differences, and among many, one or two that pass the noise level are what noise
# alone gives now and then; so it rests nothing on either part, only on the tie
# overall.
rivals = split_difference("transformer", "GRU")
check(
    rivals["all"].within_noise(),
    "the transformer and the GRU are within noise of each other on all validation predictions",
)

# %%
# The test names were scored once per page, after training. The networks' sizes,
# learning rates and numbers of steps were set by hand by the pages' authors, from
# validation runs that the pages do not show, so the validation names both guided those
# settings and now judge the networks, a small bias in the networks' favour that the
# test names do not share. The figure shows both losses, without error bars: it ranks
# nothing by itself. Which gaps are beyond noise is what the paired differences above
# measured; the GRU's and the transformer's validation bars, in particular, are a tie.
gaps = [t - v for v, t in zip(val, test, strict=True)]
print(f"test minus validation loss: {', '.join(f'{gap:+.3f}' for gap in gaps)}")

fig, (ax_loss, ax_time) = plt.subplots(1, 2, figsize=(11, 4))
positions = range(len(labels))
ax_loss.bar([p - 0.2 for p in positions], val, width=0.4, label="validation")
ax_loss.bar([p + 0.2 for p in positions], test, width=0.4, label="test")
ax_loss.set_xticks(list(positions), labels, rotation=20)
ax_loss.set_ylim(min(val + test) - 0.1, max(val + test) + 0.05)
ax_loss.set(
    ylabel="loss (nats per character)",
    title="loss on unseen names (axis not from 0; no error bars)",
)
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
