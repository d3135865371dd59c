r"""
Overfitting and regularization with polynomials
===============================================

A polynomial of high enough degree passes through any handful of points, noise
included. This page fits polynomials of growing degree to a small noisy sample and
watches the validation loss. You will learn:

* how training loss keeps falling with model capacity while validation loss turns
  back up: overfitting;
* how an L2 penalty on the weights (weight decay) tames a high-degree model;
* why the validation set, not the training set, picks the degree and the penalty,
  and why the winner is then scored on a test set.

Definitions are in :doc:`/notes/definitions`.
"""

# %%
# Setup
# -----
# Noisy samples of :math:`\sin(2\pi x)` at random :math:`x`, cut into training,
# validation and test sets of equal size. Inputs are rescaled to :math:`[-1, 1]` so
# that high powers stay in a sensible range.
import itertools

import matplotlib.pyplot as plt
import torch

from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import make_sine_data, polynomial_features
from pytorch_examples.reporting import format_table

N_TRAIN = 20
N_VAL = 20
N_TEST = 20
NOISE_STD = 0.25
SEED = 1
DEGREES = range(1, 16)
HIGH_DEGREE = 15
PENALTIES = (0.0, 1e-6, 1e-4, 1e-2, 1.0)
CONDITION_DEGREES = (1, 5, 10, 15)

x, y = make_sine_data(N_TRAIN + N_VAL + N_TEST, noise_std=NOISE_STD, seed=SEED)
x, y = x.double(), y.double()
train_x, val_x, test_x = x.split([N_TRAIN, N_VAL, N_TEST])
train_y, val_y, test_y = y.split([N_TRAIN, N_VAL, N_TEST])


def design(inputs: torch.Tensor, degree: int) -> torch.Tensor:
    """A column of ones, then the powers 1..degree of the rescaled inputs."""
    powers = polynomial_features(2 * inputs - 1, degree)
    return torch.cat([torch.ones(len(inputs), 1, dtype=inputs.dtype), powers], dim=1)


# %%
# Fitting in closed form
# ----------------------
# We minimize :math:`\frac{1}{n}\lVert X\mathbf{w} - \mathbf{y}\rVert^2 + \lambda
# \sum_{i \ge 1} w_i^2`; the bias :math:`w_0` is not penalized. The penalty is itself
# a sum of squares, of the residuals of :math:`\sqrt{\lambda}\, w_i \approx 0`, so
# the whole objective is one least squares problem: stack :math:`X/\sqrt{n}` on
# :math:`\sqrt{\lambda}` times the identity without its first row, and
# :math:`\mathbf{y}/\sqrt{n}` on zeros. :func:`torch.linalg.lstsq` solves it with an
# orthogonal factorization of that matrix.
#
# Why not the normal equations
# :math:`(X^\top X / n + \lambda D)\,\mathbf{w} = X^\top \mathbf{y} / n`, with
# :math:`D` the identity but for a 0 at the bias? With at least as many distinct
# training inputs as unknowns, :math:`X` has full rank, so nothing is singular in
# exact arithmetic. The trouble is conditioning: high
# powers on :math:`[-1, 1]` are close to linear combinations of each other, and
# forming :math:`X^\top X` squares the condition number. Float64 resolves relative
# differences down to its machine epsilon :math:`\varepsilon`; a matrix whose
# condition number exceeds :math:`1/\varepsilon` is singular to working precision.
def fit(degree: int, penalty: float = 0.0) -> torch.Tensor:
    """Weights of the penalized least squares polynomial on the training set."""
    features = design(train_x, degree) / N_TRAIN**0.5
    penalty_rows = penalty**0.5 * torch.eye(degree + 1, dtype=features.dtype)[1:]
    stacked = torch.cat([features, penalty_rows])
    targets = torch.cat([train_y / N_TRAIN**0.5, torch.zeros(degree, dtype=train_y.dtype)])
    return torch.linalg.lstsq(stacked, targets.unsqueeze(1)).solution.squeeze(1)


def mse(weights: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean squared error of a polynomial on some points."""
    return ((design(inputs, len(weights) - 1) @ weights - targets) ** 2).mean().item()


epsilon = torch.finfo(torch.float64).eps
conditions = [torch.linalg.cond(design(train_x, d)).item() for d in CONDITION_DEGREES]
n_distinct = train_x.unique().numel()
print(f"{n_distinct} distinct training inputs; 1 / epsilon = {1 / epsilon:.1e}")
print(
    format_table(
        ["degree", "cond(X)", "cond(X^T X) = cond(X)^2"],
        [
            (d, f"{c:.1e}", f"{c**2:.1e}")
            for d, c in zip(CONDITION_DEGREES, conditions, strict=True)
        ],
    )
)
check(n_distinct >= max(DEGREES) + 1, "there are at least as many distinct inputs as unknowns")
check(
    conditions[-1] < 1 / epsilon < conditions[-1] ** 2,
    f"at degree {CONDITION_DEGREES[-1]}, cond(X) is below 1 / epsilon and cond(X)^2 above it",
)

# %%
# At the highest degree the squared condition number exceeds :math:`1/\varepsilon`:
# in float64 the normal equations' matrix cannot be told apart from a singular one,
# while :math:`X` itself is ill-conditioned but not singular to working precision.
# Factorizing the stacked matrix never forms :math:`X^\top X`.

# %%
# Loss against degree
# -------------------
# The training loss can only fall as the degree grows, since each polynomial family
# contains the smaller ones. The validation loss falls while extra degrees capture
# the sine's shape, then rises far above its minimum: the high-degree fits follow the
# noise between training points and swing wildly beyond them, as shown below.
fits = {degree: fit(degree) for degree in DEGREES}
train_losses = [mse(fits[d], train_x, train_y) for d in DEGREES]
val_losses = [mse(fits[d], val_x, val_y) for d in DEGREES]
best_degree = min(DEGREES, key=lambda d: val_losses[d - DEGREES[0]])
print(
    f"lowest validation loss at degree {best_degree}: "
    f"{min(val_losses):.4f} (noise variance {NOISE_STD**2:.4f})"
)
print(
    f"degree {HIGH_DEGREE}: training loss {train_losses[-1]:.4f}, "
    f"validation loss {val_losses[-1]:.3g}"
)
check(
    all(later <= earlier for earlier, later in itertools.pairwise(train_losses)),
    "the training loss never rises with the degree",
)
check(
    val_losses[0] > min(val_losses) and val_losses[-1] > 10 * min(val_losses),
    "the validation loss falls to its minimum, then rises far above it",
)

grid = torch.linspace(0, 1, 400, dtype=torch.float64)
fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(11, 4))
ax_loss.plot(list(DEGREES), train_losses, "o-", label="training")
ax_loss.plot(list(DEGREES), val_losses, "o-", label="validation")
ax_loss.axhline(NOISE_STD**2, color="0.5", ls=":", label="noise variance")
ax_loss.set(
    xlabel="polynomial degree",
    ylabel="mean squared error",
    yscale="log",
    title="loss against model capacity",
)
ax_loss.legend()
ax_fit.scatter(train_x, train_y, s=15, color="k", label="training points")
ax_fit.scatter(val_x, val_y, s=15, facecolors="none", edgecolors="C1", label="validation")
for degree in (1, best_degree, HIGH_DEGREE):
    ax_fit.plot(grid, design(grid, degree) @ fits[degree], label=f"degree {degree}")
ax_fit.plot(grid, torch.sin(2 * torch.pi * grid), "k--", lw=1, label="sin(2 pi x)")
ax_fit.set(xlabel="x", ylabel="y", ylim=(-2, 2), title="fitted polynomials")
ax_fit.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()

# %%
# Most of the degree-15 validation loss comes from the few validation points outside
# the span of the training inputs, where a high-degree polynomial is free to shoot
# off.
outside = (val_x < train_x.min()) | (val_x > train_x.max())
errors = (design(val_x, HIGH_DEGREE) @ fits[HIGH_DEGREE] - val_y) ** 2
outside_share = (errors[outside].sum() / errors.sum()).item()
print(
    f"{int(outside.sum())} validation points outside; their share of the loss {outside_share:.4f}"
)
check(outside_share > 0.5, "most of the degree-15 validation loss comes from points outside")

# %%
# Weight decay at a high degree
# -----------------------------
# Keep degree 15 and raise the penalty. Without it the curve swings wildly between
# the training points; a moderate penalty keeps the weights small and the curve
# smooth; too strong a penalty flattens it toward the mean and underfits.
fig, (ax_curves, ax_sweep) = plt.subplots(1, 2, figsize=(11, 4))
ax_curves.scatter(train_x, train_y, s=15, color="k")
sweep = []
for penalty in PENALTIES:
    weights = fit(HIGH_DEGREE, penalty)
    sweep.append(
        (
            penalty,
            mse(weights, train_x, train_y),
            mse(weights, val_x, val_y),
            weights[1:].norm().item(),
        )
    )
    ax_curves.plot(grid, design(grid, HIGH_DEGREE) @ weights, label=f"lambda = {penalty:g}")
ax_curves.set(xlabel="x", ylabel="y", ylim=(-2, 2), title=f"degree {HIGH_DEGREE}")
ax_curves.legend(fontsize=8, loc="lower left")
labels = [f"{p:g}" for p in PENALTIES]
ax_sweep.plot(labels, [row[1] for row in sweep], "o-", label="training")
ax_sweep.plot(labels, [row[2] for row in sweep], "o-", label="validation")
ax_sweep.set(
    xlabel="penalty lambda",
    ylabel="mean squared error",
    yscale="log",
    title="loss against penalty",
)
ax_sweep.legend()
fig.tight_layout()
plt.show()

print(format_table(["lambda", "train", "validation", "|w|"], [(f"{p:g}", *r) for p, *r in sweep]))
_, sweep_train, sweep_val, sweep_norm = zip(*sweep, strict=True)
best_penalty = PENALTIES[sweep_val.index(min(sweep_val))]
print(f"lowest validation loss at lambda = {best_penalty:g}")
check(
    all(a > b for a, b in itertools.pairwise(sweep_norm))
    and all(a < b for a, b in itertools.pairwise(sweep_train)),
    "a stronger penalty gives smaller weights and a higher training loss",
)
check(
    best_penalty not in (PENALTIES[0], PENALTIES[-1]),
    "the best penalty on validation is neither none nor the strongest",
)

# %%
# Choosing, then testing
# ----------------------
# The validation set has now picked among all the models above: every degree without
# a penalty, and degree 15 with each penalty. The winner's validation loss is the
# smallest of many noisy estimates, so it is optimistic: the choice favoured whichever
# model the validation noise happened to flatter. The test set played no part in any
# choice, so its score, computed once, here, is an unbiased estimate of how the chosen
# model does on new points. With 20 test points that estimate is noisy too: on any
# one draw it can land on either side of the validation loss.
candidates = {f"degree {d}": (d, 0.0) for d in DEGREES}
candidates |= {f"degree {HIGH_DEGREE}, lambda {p:g}": (HIGH_DEGREE, p) for p in PENALTIES[1:]}
candidate_val = {
    name: mse(fit(degree, penalty), val_x, val_y) for name, (degree, penalty) in candidates.items()
}
chosen = min(candidate_val, key=candidate_val.get)
test_loss = mse(fit(*candidates[chosen]), test_x, test_y)
print(f"chosen on validation among {len(candidates)} models: {chosen}")
print(f"its validation loss {candidate_val[chosen]:.4f}; its test loss {test_loss:.4f}")
