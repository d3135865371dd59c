r"""
The hidden state, one step at a time
====================================

The MLP of :doc:`plot_mlp_language_model` sees a fixed window of the last few
characters and nothing before it. A *recurrent* network reads a name one character at
a time and carries what it has read in a *hidden state*, a vector it updates at every
character. This page writes out the update of a plain recurrent network (RNN) and of a
gated recurrent unit (GRU, Cho et al., 2014) with a few tensor operations, and checks
them against PyTorch's layers. The weights here are random: the next page,
:doc:`plot_recurrent_network`, trains both networks on names. You will learn:

* how a plain RNN updates its hidden state;
* how a GRU's update and reset gates decide how much of the old state to keep;
* how PyTorch stores the weights of the two layers.
"""

# %%
# The two updates
# ---------------
# A plain RNN updates its state :math:`h` with each input vector :math:`x`:
#
# .. math:: h_t = \tanh(W_x x_t + W_h h_{t-1} + b).
#
# A GRU computes a candidate state :math:`n_t` in much the same way, then mixes it
# with the old state through an *update gate* :math:`z_t`; a *reset gate* :math:`r_t`
# chooses how much of the old state the candidate sees (:math:`\sigma` is the
# logistic function, :math:`\odot` the elementwise product):
#
# .. math::
#
#    r_t &= \sigma(W_{xr} x_t + W_{hr} h_{t-1} + b_r), \qquad
#    z_t = \sigma(W_{xz} x_t + W_{hz} h_{t-1} + b_z), \\
#    n_t &= \tanh(W_{xn} x_t + b_{xn} + r_t \odot (W_{hn} h_{t-1} + b_{hn})), \\
#    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}.
#
# Where :math:`z_t` is near 1, the state passes through nearly unchanged. PyTorch
# splits the bias :math:`b` of the plain RNN into an input bias and a hidden bias, and
# stores the GRU's three blocks of weights stacked in the order :math:`r, z, n`.
import torch
from torch import nn

from pytorch_examples.claims import check

# sphinx_gallery_cited_numbers = {"2014": "year of the cited paper"}

SEED = 42
INPUT_DIM = 32  # the embedding width of the next page
HIDDEN_DIM = 256  # the GRU's state on the next page
N_SEQUENCES = 3
N_STEPS = 5

torch.manual_seed(SEED)


def rnn_step(layer, x, h):
    return torch.tanh(
        x @ layer.weight_ih_l0.T + layer.bias_ih_l0 + h @ layer.weight_hh_l0.T + layer.bias_hh_l0
    )


def gru_step(layer, x, h):
    xr, xz, xn = (x @ layer.weight_ih_l0.T + layer.bias_ih_l0).chunk(3, dim=-1)
    hr, hz, hn = (h @ layer.weight_hh_l0.T + layer.bias_hh_l0).chunk(3, dim=-1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h


# %%
# Written out, one step at a time from a zero state, both updates give the layers' own
# outputs for a few random sequences:
inputs = torch.randn(N_SEQUENCES, N_STEPS, INPUT_DIM)
differences = {}
for layer_class, step_function in ((nn.RNN, rnn_step), (nn.GRU, gru_step)):
    layer = layer_class(INPUT_DIM, HIDDEN_DIM, batch_first=True)
    h, states = torch.zeros(N_SEQUENCES, HIDDEN_DIM), []
    for t in range(N_STEPS):
        h = step_function(layer, inputs[:, t], h)
        states.append(h)
    with torch.no_grad():
        difference = (torch.stack(states, dim=1) - layer(inputs)[0]).abs().max().item()
    name = layer_class.__name__
    differences[name] = difference
    print(f"{name}: largest difference from the layer's output {difference:.1e}")
    check(difference < 1e-5, f"the written-out {name} step gives nn.{name}'s outputs")

# %%
# A GRU of the same state size holds three times the weights of a plain RNN, one
# block per gate and one for the candidate, so a plain RNN needs a wider state to have
# as many parameters.
sizes = {
    layer_class.__name__: sum(p.numel() for p in layer_class(INPUT_DIM, HIDDEN_DIM).parameters())
    for layer_class in (nn.RNN, nn.GRU)
}
print(f"parameters with a state of {HIDDEN_DIM}: RNN {sizes['RNN']:,}, GRU {sizes['GRU']:,}")
check(sizes["GRU"] == 3 * sizes["RNN"], "a GRU holds three times the weights of a plain RNN")
