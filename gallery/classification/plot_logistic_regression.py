r"""
Logistic regression in one dimension
====================================

Two classes of points on a line, and a model that outputs the probability that a
point belongs to class 1: :math:`p(x) = \sigma(w x + b)`. You will learn:

* how binary cross-entropy turns predicted probabilities into a loss;
* how the fitted curve and the decision boundary :math:`x = -b/w` move during training;
* why the loss must be computed from the logit :math:`z = w x + b`, not from
  :math:`\sigma(z)`, and what :class:`torch.nn.BCEWithLogitsLoss` does about it.
"""

# %%
# Setup
# -----
# Class 0 is drawn around -3, class 1 around 5, both with standard deviation 2. With
# equal variances and equal class sizes the best boundary lies midway, at
# :math:`x = 1`, and the true log-odds are :math:`2x - 2` (derived in the notes).
import matplotlib.pyplot as plt
import torch
from torch import nn

from pytorch_examples.losses import binary_cross_entropy_with_logits
from pytorch_examples.plotting import plot_curves_by_epoch, plot_loss_curve
from pytorch_examples.reporting import format_table
from pytorch_examples.synthetic import make_two_class_data

N_PER_CLASS = 100
CLASS_MEANS = (-3.0, 5.0)
CLASS_STD = 2.0
SEED = 0
LEARNING_RATE = 2.0
N_EPOCHS = 100

torch.manual_seed(SEED)
data = make_two_class_data(N_PER_CLASS, means=CLASS_MEANS, std=CLASS_STD, seed=SEED)
x, y = data.x.unsqueeze(1), data.y.unsqueeze(1)
var = CLASS_STD**2
true_w = (CLASS_MEANS[1] - CLASS_MEANS[0]) / var
true_b = (CLASS_MEANS[0] ** 2 - CLASS_MEANS[1] ** 2) / (2 * var)
print(f"population log-odds: {true_w:g} x {true_b:+g}, boundary at x = {-true_b / true_w:g}")

# %%
# The model and the loop
# ----------------------
# The model outputs the logit :math:`z`; the sigmoid lives inside the loss. Each epoch
# is one full-batch step of gradient descent. A rate of 2 is bold: at the start the
# loss curves about 5.6 times as fast as a unit parabola in its steepest direction,
# so the first step overshoots to a very steep curve (the jump in the loss curve).
# There the sigmoid saturates, the loss is almost flat, and the later steps walk the
# slope back down. After every epoch we record the probability curve on a grid.
model = nn.Linear(1, 1)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
grid = torch.linspace(-10, 12, 300).unsqueeze(1)

losses, curves = [], []
for _ in range(N_EPOCHS):
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    with torch.no_grad():
        curves.append(torch.sigmoid(model(grid)).squeeze(1))

w_fit, b_fit = model.weight.item(), model.bias.item()
boundary = -b_fit / w_fit
with torch.no_grad():
    predicted_class = (model(x) > 0).float()  # z > 0 exactly when p > 1/2
accuracy = (predicted_class == y).float().mean().item()
print(f"fitted: w = {w_fit:.3f}, b = {b_fit:.3f}, boundary x = {boundary:.3f}")
print(f"training accuracy: {accuracy:.3f}")

# %%
# The fit maximizes the likelihood of *these* 200 points, not of the population, so
# it differs from :math:`2x - 2`: the boundary is decided by the handful of points
# near the middle, and with so few of them it lands a little off 1. A larger sample
# brings the fit closer to the population values.

# %%
# The probability curve steepens and slides until it crosses 1/2 between the two
# groups. The dotted line is the final decision boundary.
fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
ax_fit.scatter(data.x[:N_PER_CLASS], data.y[:N_PER_CLASS], s=12, alpha=0.5, label="class 0")
ax_fit.scatter(data.x[N_PER_CLASS:], data.y[N_PER_CLASS:], s=12, alpha=0.5, label="class 1")
plot_curves_by_epoch(ax_fit, grid.squeeze(1), curves)
ax_fit.axvline(boundary, color="k", ls=":", label=f"boundary x = {boundary:.2f}")
ax_fit.set(xlabel="x", ylabel="p(class 1 | x)", title="sigmoid(w x + b) after each epoch")
ax_fit.legend(loc="upper left")
plot_loss_curve(ax_loss, losses, xlabel="epoch", log_scale=False)
ax_loss.set_title("binary cross-entropy")
fig.tight_layout()
plt.show()


# %%
# Why the loss takes logits
# -------------------------
# Written naively, the loss of one point is
# :math:`-[y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))]`. In float32,
# :math:`\sigma(z)` rounds to exactly 1 once :math:`z \gtrsim 17` and to exactly 0
# once :math:`z \lesssim -104`; the logarithm of 0 is :math:`-\infty`, and its
# gradient is :math:`0 \cdot \infty`, which is NaN. A confident wrong prediction,
# exactly the case that needs a large gradient, breaks training.
#
# The stable form :math:`\max(z, 0) - y z + \log(1 + e^{-|z|})` is the same function
# rewritten so that nothing overflows or rounds to zero inside a logarithm.
# :class:`~torch.nn.BCEWithLogitsLoss` uses it; so does the package's
# :func:`~pytorch_examples.losses.binary_cross_entropy_with_logits`, written out to
# match the notes.
def naive_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy through sigmoid then log: unstable on purpose."""
    p = torch.sigmoid(logits)
    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p))


rows = []
for z_value in (-200.0, -20.0, 0.0, 20.0, 200.0):
    for target_value in (0.0, 1.0):
        z = torch.tensor([z_value], requires_grad=True)
        target = torch.tensor([target_value])
        naive = naive_bce(z, target).sum()
        (naive_grad,) = torch.autograd.grad(naive, z)
        z_stable = torch.tensor([z_value], requires_grad=True)
        stable = nn.functional.binary_cross_entropy_with_logits(z_stable, target)
        (stable_grad,) = torch.autograd.grad(stable, z_stable)
        ours = binary_cross_entropy_with_logits(z_stable.detach(), target)
        rows.append(
            (
                z_value,
                int(target_value),
                naive.item(),
                naive_grad.item(),
                stable.item(),
                stable_grad.item(),
                ours.item(),
            )
        )
print(format_table(["z", "y", "naive", "naive grad", "stable", "stable grad", "ours"], rows))

# %%
# Where the naive column shows ``inf`` or ``nan``, the stable loss is finite and
# equals :math:`|z|` (a wrong answer with confidence :math:`|z|`), with gradient
# :math:`\pm 1`.
