r"""
Logistic regression in one dimension
====================================

Two classes of points on a line, and a model that outputs the probability that a
point belongs to class 1: :math:`p(x) = \sigma(w x + b)`. You will learn:

* how binary cross-entropy turns predicted probabilities into a loss;
* how the fitted curve and the decision boundary :math:`x = -b/w` move during training,
  and how to tell that training has reached the maximum of the likelihood;
* why the loss must be computed from the logit :math:`z = w x + b`, not from
  :math:`\sigma(z)`, and what :class:`torch.nn.BCEWithLogitsLoss` does about it.
"""

# %%
# Setup
# -----
# Class 0 is drawn around -3, class 1 around 5, both with standard deviation 2. With
# equal variances and equal class sizes the best boundary lies midway, at
# :math:`x = 1`, and the true log-odds are :math:`2x - 2` (derived in the notes).
import copy
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import make_two_class_data
from pytorch_examples.losses import binary_cross_entropy_with_logits
from pytorch_examples.plotting import plot_curves_by_epoch
from pytorch_examples.reporting import format_table

N_PER_CLASS = 100
CLASS_MEANS = (-3.0, 5.0)
CLASS_STD = 2.0
SEED = 0
LEARNING_RATE = 2.0
N_EPOCHS = 500
N_NEWTON_STEPS = 12
N_NAIVE_EPOCHS = 3
EXTRA_POINT_X = 15.0  # far enough right that sigmoid(w x + b) rounds to 1
TABLE_ZERO = 5e-5  # rounds to 0 at the table's four decimals

torch.manual_seed(SEED)
data = make_two_class_data(N_PER_CLASS, means=CLASS_MEANS, std=CLASS_STD, seed=SEED)
x, y = data.x.unsqueeze(1), data.y.unsqueeze(1)
var = CLASS_STD**2
true_w = (CLASS_MEANS[1] - CLASS_MEANS[0]) / var
true_b = (CLASS_MEANS[0] ** 2 - CLASS_MEANS[1] ** 2) / (2 * var)
print(
    f"{len(x)} points; population log-odds {true_w:g} x {true_b:+g}, "
    f"boundary x = {-true_b / true_w:g}"
)


# %%
# Gradient and curvature of the loss
# ----------------------------------
# With :math:`p_i = \sigma(w x_i + b)` and features :math:`f_i = (x_i, 1)`, the mean
# loss has gradient :math:`\frac1n \sum_i (p_i - y_i) f_i` and Hessian
# :math:`\frac1n \sum_i p_i (1 - p_i) f_i f_i^\top`. We need them to see how bold the
# learning rate is, and for Newton's method, which gives the exact maximum-likelihood
# answer to compare gradient descent with (in float64, free of float32 rounding).
def gradient_and_hessian(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient and Hessian of the mean binary cross-entropy at ``theta = (w, b)``."""
    features = torch.stack([data.x, torch.ones_like(data.x)], dim=1).double()
    p = torch.sigmoid(features @ theta)
    gradient = features.T @ (p - data.y.double()) / len(p)
    hessian = (features * (p * (1 - p)).unsqueeze(1)).T @ features / len(p)
    return gradient, hessian


def largest_curvature(theta: torch.Tensor) -> float:
    """The Hessian's largest eigenvalue: the loss's curvature in its steepest direction."""
    return torch.linalg.eigvalsh(gradient_and_hessian(theta)[1]).max().item()


model = nn.Linear(1, 1)
initial_state = copy.deepcopy(model.state_dict())  # the naive loss below starts here too
start_curvature = largest_curvature(parameters_to_vector(model.parameters()).detach().double())
print(
    f"largest curvature at the start: {start_curvature:.2f}; "
    f"stable rates lie below 2 / {start_curvature:.2f} = {2 / start_curvature:.2f}"
)
stable_limit = 2 / start_curvature
check(stable_limit < LEARNING_RATE, "the learning rate is above the stable limit at the start")

# %%
# The model and the loop
# ----------------------
# The model outputs the logit :math:`z`; the sigmoid lives inside the loss. Each epoch
# is one full-batch step of gradient descent. The rate is bold: on a bowl as curved as
# the loss at the start, gradient descent diverges for any rate above
# :math:`2/\lambda_{\max}`. The first step therefore overshoots to a far steeper
# curve. There the sigmoid saturates on most points, the loss is almost flat, and the
# later steps walk the slope back down. After every epoch we record the probability
# curve on a grid and the two parameters.
loss_fn = nn.BCEWithLogitsLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
grid = torch.linspace(-10, 12, 300).unsqueeze(1)

curves, path = [], []
for _ in range(N_EPOCHS):
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    path.append(parameters_to_vector(model.parameters()).detach().double())
    with torch.no_grad():
        curves.append(torch.sigmoid(model(grid)).squeeze(1))

w_fit, b_fit = model.weight.item(), model.bias.item()
boundary = -b_fit / w_fit
final_gradient = torch.autograd.grad(loss_fn(model(x), y), list(model.parameters()))
with torch.no_grad():
    accuracy = ((model(x) > 0).float() == y).float().mean().item()  # z > 0 iff p > 1/2
curvature_after_first = largest_curvature(path[0])
print(f"after the first step: w = {path[0][0]:.3f}, largest curvature {curvature_after_first:.3f}")
print(f"fitted: w = {w_fit:.4f}, b = {b_fit:.4f}, boundary x = {boundary:.3f}")
print(f"gradient norm at the end: {parameters_to_vector(final_gradient).norm():.1e}")
print(f"training accuracy: {accuracy:.3f}")
check(
    2 / curvature_after_first > LEARNING_RATE,
    "after the first step the loss is flat enough for the rate",
)

# %%
# Has it converged?
# -----------------
# A small final gradient says the loss is flat where training stopped, not that the
# maximum is near. Newton's method answers the question: each step jumps to the
# minimum of the local quadratic model, :math:`\theta \leftarrow \theta - H^{-1}\nabla L`.
# The Hessian is positive definite, and the classes overlap, so the likelihood has a
# finite maximum, which Newton's method reaches to machine precision in a few steps.
class_0, class_1 = data.x[:N_PER_CLASS], data.x[N_PER_CLASS:]
check(
    class_0.max() > class_1.min() and class_1.max() > class_0.min(),
    "the classes overlap: no threshold separates them, in either direction",
)
theta = torch.zeros(2, dtype=torch.float64)
for _ in range(N_NEWTON_STEPS):
    gradient, hessian = gradient_and_hessian(theta)
    theta = theta - torch.linalg.solve(hessian, gradient)
w_ref, b_ref = theta.tolist()
newton_gradient_norm = gradient_and_hessian(theta)[0].norm().item()
print(
    f"Newton's method: w = {w_ref:.4f}, b = {b_ref:.4f}, gradient norm {newton_gradient_norm:.1e}"
)
distance = max(abs(w_fit - w_ref), abs(b_fit - b_ref))
print(f"largest difference between gradient descent and Newton: {distance:.1e}")
check(distance < 1e-3, "gradient descent ends within 0.001 of the maximum-likelihood w and b")
check(path[0][0] > 2 * w_ref, "the first step overshoots to more than twice the final slope")

# %%
# The fit maximizes the likelihood of *these* points, not of the population, so it
# differs from :math:`2x - 2` and its boundary lands off 1. The probability curve
# steepens past its final shape, then relaxes and slides until it crosses 1/2 between
# the two groups (dotted: the final boundary). On the right, the two parameters per
# epoch against Newton's answer.
fig, (ax_fit, ax_path) = plt.subplots(1, 2, figsize=(11, 4))
ax_fit.scatter(data.x[:N_PER_CLASS], data.y[:N_PER_CLASS], s=12, alpha=0.5, label="class 0")
ax_fit.scatter(data.x[N_PER_CLASS:], data.y[N_PER_CLASS:], s=12, alpha=0.5, label="class 1")
plot_curves_by_epoch(ax_fit, grid.squeeze(1), curves)
ax_fit.axvline(boundary, color="k", ls=":", label=f"boundary x = {boundary:.2f}")
ax_fit.set(xlabel="x", ylabel="p(class 1 | x)", title="sigmoid(w x + b) after each epoch")
# Below the axes: inside, any corner the legend fits in hides points, curves or the boundary.
ax_fit.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=3, frameon=False)
for k, (name, reference) in enumerate((("w", w_ref), ("b", b_ref))):
    ax_path.plot(range(1, N_EPOCHS + 1), [p[k] for p in path], color=f"C{k}", label=name)
    ax_path.axhline(reference, color=f"C{k}", ls="--", lw=1)
ax_path.set(xlabel="epoch", xscale="log", title="parameters (dashed: Newton's method)")
ax_path.legend()
fig.tight_layout()
plt.show()


# %%
# Why the loss takes logits
# -------------------------
# Written naively, the loss of one point is
# :math:`-[y \log \sigma(z) + (1 - y) \log(1 - \sigma(z))]`. Computed in float32,
# :math:`\sigma(z) = 1/(1 + e^{-z})` becomes exactly 1 once :math:`e^{-z}` is below
# half the machine epsilon :math:`\varepsilon` (then :math:`1 + e^{-z}` rounds to 1),
# and exactly 0 once :math:`e^{-z}` overflows the largest float32. PyTorch's sigmoid
# shows both limits, and they are far from symmetric:
z_scan = torch.linspace(-100.0, 30.0, 130_001)
exactly_one = z_scan[torch.sigmoid(z_scan) == 1].min().item()
exactly_zero = z_scan[torch.sigmoid(z_scan) == 0].max().item()
float32 = torch.finfo(torch.float32)
print(f"sigmoid(z) == 1 from z = {exactly_one:.2f}; ln(2 / eps) = {math.log(2 / float32.eps):.2f}")
print(f"sigmoid(z) == 0 below z = {exactly_zero:.2f}; -ln(max) = {-math.log(float32.max):.2f}")
check(
    abs(exactly_one - math.log(2 / float32.eps)) < 0.01
    and abs(exactly_zero + math.log(float32.max)) < 0.01,
    "sigmoid is exactly 1 where 1 + exp(-z) rounds to 1, and exactly 0 where exp(-z) overflows",
)


# %%
# Either way a logarithm of 0 appears. The stable form
# :math:`\max(z, 0) - y z + \log(1 + e^{-|z|})` is the same function rewritten so that
# nothing overflows or rounds to zero inside a logarithm.
# :class:`~torch.nn.BCEWithLogitsLoss` uses it; so does the package's
# :func:`~pytorch_examples.losses.binary_cross_entropy_with_logits`, written out to
# match the notes. Its gradient is :math:`\sigma(z) - y`.
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
        stable = nn.functional.binary_cross_entropy_with_logits(z, target)
        (stable_grad,) = torch.autograd.grad(stable, z)
        ours = binary_cross_entropy_with_logits(z.detach(), target)
        values = (naive, naive_grad, stable, stable_grad, ours)
        rows.append((z_value, int(target_value), *(v.item() for v in values)))
print(format_table(["z", "y", "naive", "naive grad", "stable", "stable grad", "ours"], rows))

# %%
# The table shows two different failures. ``inf`` marks the confident *wrong*
# predictions: the probability given to the true class has rounded to 0, and its
# logarithm is :math:`-\infty`. ``nan`` marks the confident *correct* ones: there the
# term that should vanish is :math:`0 \cdot \log 0 = 0 \cdot (-\infty)`, which is
# NaN. The gradient is NaN in both. The stable loss is finite everywhere: :math:`|z|`
# with gradient :math:`\pm 1` where the prediction is wrong, and 0 with gradient 0
# (to the table's four decimals) where it is right. At :math:`z = -20` nothing
# breaks, because :math:`\sigma(-20)` is small but not yet 0: that is inside the zero
# limit printed above.
inf_rows = [row for row in rows if math.isinf(row[2])]
nan_rows = [row for row in rows if math.isnan(row[2])]
check(
    all(
        (z > 0) != (t == 1) and math.isclose(stable, abs(z)) and math.isclose(abs(grad), 1)
        for z, t, _, _, stable, grad, _ in inf_rows
    ),
    "where the naive loss is inf the prediction is wrong; the stable loss is |z|, gradient ±1",
)
check(
    all(
        (z > 0) == (t == 1) and stable < TABLE_ZERO and abs(grad) < TABLE_ZERO
        for z, t, _, _, stable, grad, _ in nan_rows
    ),
    "where the naive loss is nan the prediction is right; the stable loss and gradient are 0",
)

# %%
# One such point is enough to break training. The batch loss is a mean over all
# points, and its gradient with respect to :math:`w` and :math:`b` is a sum over every
# point, so a single NaN makes both NaN. At the fitted parameters every training point
# has a finite naive loss; add one class-1 point far to the right, which the model
# classifies correctly and confidently:
extra_x = torch.cat([x, torch.tensor([[EXTRA_POINT_X]])])
extra_y = torch.cat([y, torch.ones(1, 1)])
batch_means = []
for inputs, labels in ((x, y), (extra_x, extra_y)):
    mean_loss = naive_bce(model(inputs), labels).mean()
    grad_w, grad_b = torch.autograd.grad(mean_loss, list(model.parameters()))
    batch_means.append(mean_loss.item())
    print(
        f"{len(inputs)} points: naive mean loss {mean_loss.item():.4f}, "
        f"gradient ({grad_w.item():.1e}, {grad_b.item():.1e})"
    )
check(
    math.isfinite(batch_means[0]) and math.isnan(batch_means[1]),
    "one confidently correct point makes the batch mean NaN",
)

# %%
# A step with that gradient writes NaN into the parameters, and every later
# prediction is NaN. Nor does it take an unusual point. The same loop as above, from
# the same starting weights, with the naive loss: its bold first step leaves correctly
# classified points with :math:`z` beyond the limit of exactly 1. The stable loss gives
# those points a loss and a gradient of almost 0, which is what a confident correct
# prediction deserves.
naive_model = nn.Linear(1, 1)
naive_model.load_state_dict(initial_state)
naive_optimizer = torch.optim.SGD(naive_model.parameters(), lr=LEARNING_RATE)
for epoch in range(1, N_NAIVE_EPOCHS + 1):
    logits = naive_model(x).squeeze(1)
    per_point = naive_bce(logits, data.y)
    naive_optimizer.zero_grad()
    per_point.mean().backward()
    naive_optimizer.step()
    print(
        f"epoch {epoch}: {int(per_point.isnan().sum())} of {len(x)} point losses NaN, "
        f"mean {per_point.mean().item():.4f}, then w = {naive_model.weight.item():.3f}"
    )
    if epoch == 2:  # the first epoch that starts from the overshoot
        nan_points = per_point.isnan()
        beyond = ((logits > 0) == (data.y == 1)) & (logits.abs() >= exactly_one)
check(
    nan_points.any() and beyond[nan_points].all() and math.isnan(naive_model.weight.item()),
    "the naive loop's NaNs come from correct points beyond the limit, and w ends NaN",
)
