r"""
Overfitting and regularization with polynomials
===============================================

A polynomial of high enough degree passes through any handful of points, noise
included. This page fits polynomials of growing degree to a small noisy sample and
watches the validation loss. You will learn:

* how training loss keeps falling with model capacity while validation loss turns
  back up: overfitting;
* how an L2 penalty on the weights (weight decay) tames a high-degree model;
* why the validation set, not the training set, picks the degree and the penalty.

Definitions are in :doc:`/notes/definitions`.
"""

# %%
# Setup
# -----
# 40 noisy samples of :math:`\sin(2\pi x)`, split in half. Inputs are rescaled to
# :math:`[-1, 1]` so that high powers stay in a sensible range.
import matplotlib.pyplot as plt
import torch

from pytorch_examples.synthetic import make_sine_data, polynomial_features

N_POINTS = 40
NOISE_STD = 0.25
SEED = 1
DEGREES = range(1, 16)
HIGH_DEGREE = 15
PENALTIES = (0.0, 1e-6, 1e-4, 1e-2, 1.0)

x, y = make_sine_data(N_POINTS, noise_std=NOISE_STD, seed=SEED)
x, y = x.double(), y.double()
n_train = N_POINTS // 2
train_x, train_y = x[:n_train], y[:n_train]
val_x, val_y = x[n_train:], y[n_train:]


def design(inputs: torch.Tensor, degree: int) -> torch.Tensor:
    """A column of ones, then the powers 1..degree of the rescaled inputs."""
    powers = polynomial_features(2 * inputs - 1, degree)
    return torch.cat([torch.ones(len(inputs), 1, dtype=inputs.dtype), powers], dim=1)


# %%
# Fitting in closed form
# ----------------------
# Minimizing :math:`\frac{1}{n}\lVert X\mathbf{w} - \mathbf{y}\rVert^2 + \lambda
# \sum_{i \ge 1} w_i^2` gives the linear system
# :math:`(X^\top X / n + \lambda D)\,\mathbf{w} = X^\top \mathbf{y} / n`, where
# :math:`D` is the identity with a 0 for the bias, which is not penalized. With
# :math:`\lambda = 0` this is ordinary least squares; for larger degrees than points
# the system is singular, so we solve it as a least squares problem.
def fit(degree: int, penalty: float = 0.0) -> torch.Tensor:
    """Weights of the penalized least squares polynomial on the training set."""
    features = design(train_x, degree)
    gram = features.T @ features / n_train
    gram += penalty * torch.diag(torch.tensor([0.0] + [1.0] * degree, dtype=gram.dtype))
    rhs = features.T @ train_y / n_train
    return torch.linalg.lstsq(gram, rhs.unsqueeze(1)).solution.squeeze(1)


def mse(weights: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean squared error of a polynomial on some points."""
    return ((design(inputs, len(weights) - 1) @ weights - targets) ** 2).mean().item()


# %%
# Loss against degree
# -------------------
# The training loss can only fall as the degree grows, since each polynomial family
# contains the smaller ones. The validation loss falls while extra degrees capture
# the sine's shape, then rises as they start fitting the noise.
train_losses, val_losses = [], []
for degree in DEGREES:
    weights = fit(degree)
    train_losses.append(mse(weights, train_x, train_y))
    val_losses.append(mse(weights, val_x, val_y))
best_degree = DEGREES[min(range(len(DEGREES)), key=val_losses.__getitem__)]
print(
    f"lowest validation loss at degree {best_degree}: "
    f"{min(val_losses):.4f} (noise variance {NOISE_STD**2:.4f})"
)
print(
    f"degree {HIGH_DEGREE}: training loss {train_losses[-1]:.2e}, "
    f"validation loss {val_losses[-1]:.2f}"
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
    ax_fit.plot(grid, design(grid, degree) @ fit(degree), label=f"degree {degree}")
ax_fit.plot(grid, torch.sin(2 * torch.pi * grid), "k--", lw=1, label="sin(2 pi x)")
ax_fit.set(xlabel="x", ylabel="y", ylim=(-2, 2), title="fitted polynomials")
ax_fit.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()

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

for penalty, train_loss, val_loss, norm in sweep:
    print(
        f"lambda {penalty:<7g} train {train_loss:.4f}  validation {val_loss:.4f}  |w| {norm:.3g}"
    )
