r"""
A CNN for CIFAR-10 on a CPU
===========================

A small convolutional network learns to tell apart airplanes, cars, birds, cats,
deer, dogs, frogs, horses, ships and trucks from 32 x 32 pixel photos, in about three
minutes of training on a 2-core CPU. You will learn:

* how the images are held as one uint8 tensor and normalized in batches;
* what convolution, batch normalization, ReLU and pooling each contribute;
* how a one-cycle learning-rate schedule makes a few epochs go far;
* how to read a confusion matrix and what the mistakes look like.

The data comes from the data directory (``$PYTORCH_EXAMPLES_DATA``, else it is
downloaded with torchvision); decoding is done once and cached.
"""

# %%
# Setup
# -----
import time

import matplotlib.pyplot as plt
import torch
from torch.nn import functional as F

from pytorch_examples.cifar10 import CLASSES, channel_stats, load_cifar10, normalize
from pytorch_examples.plotting import plot_confusion_matrix, plot_image_grid
from pytorch_examples.vision import SmallCNN, confusion_matrix, predict

SEED = 0
WIDTHS = (24, 48, 96)
N_EPOCHS = 3
BATCH_SIZE = 256
MAX_LEARNING_RATE = 0.2
WEIGHT_DECAY = 5e-4
LABEL_SMOOTHING = 0.1
N_SAMPLE_IMAGES = 16

torch.manual_seed(SEED)
started = time.perf_counter()
data = load_cifar10()
print(f"loaded in {time.perf_counter() - started:.1f} s from {data.source}")
print(
    f"train {tuple(data.train.images.shape)} {data.train.images.dtype}, "
    f"test {tuple(data.test.images.shape)}"
)

# %%
# A look at the data
# ------------------
fig = plot_image_grid(
    data.train.images[:N_SAMPLE_IMAGES],
    [CLASSES[label] for label in data.train.labels[:N_SAMPLE_IMAGES]],
)
plt.show()

# %%
# Every image stays a ``uint8`` tensor (150 MB for the training set). Each batch is
# converted to float and standardized per colour channel right before it enters the
# network, with the mean and standard deviation of the training images.
mean, std = channel_stats(data.train.images)
print(f"channel means {mean.numpy().round(3)}, standard deviations {std.numpy().round(3)}")

# %%
# The network
# -----------
# Three stages, each a 3x3 convolution, batch normalization and ReLU, then 2x2 max
# pooling:
#
# * a **convolution** slides the same small filters over the whole image, so a
#   feature (an edge, a patch of fur) is detected wherever it appears, with few
#   weights;
# * **batch normalization** standardizes each channel over the batch, which keeps
#   activations in a good range and allows a large learning rate;
# * **ReLU** makes the stack nonlinear;
# * **max pooling** halves the image, so each following filter sees a twice larger
#   region: 3x3 pixels in the first stage, a sizeable part of the image by the third.
#
# Global max pooling then keeps each final channel's strongest response anywhere in
# the image, and a linear layer maps those to ten class scores. Channels double as the
# image halves, keeping the arithmetic of each stage similar. The widths are chosen to
# fit a three-minute CPU budget; on a CPU much of that time goes to the first stage,
# whose feature maps are full size, so halving the widths saves far less than half.
model = SmallCNN(WIDTHS).to(memory_format=torch.channels_last)
n_parameters = sum(p.numel() for p in model.parameters())
print(model)
print(f"parameters: {n_parameters:,}")

# %%
# Training
# --------
# Mini-batch SGD with Nesterov momentum and weight decay. The one-cycle schedule
# raises the learning rate for the first quarter of the steps and then lowers it to
# nearly zero: the large middle rates move fast, the small final rates settle. Label
# smoothing asks for 90% confidence instead of 100%, which curbs overconfidence. The
# ``channels_last`` layout speeds up CPU convolutions. After every epoch the test set
# is scored in evaluation mode; that time is not counted as training time.
#
# There is no data augmentation here. Random crops and flips
# (:func:`~pytorch_examples.cifar10.random_crop_flip`) pay off when a model sees each
# image many times; in three epochs it sees each one three times, and in our trials
# within this time budget they did not raise the test accuracy. The GPU page, which
# trains for more epochs, uses them.
optimizer = torch.optim.SGD(
    model.parameters(),
    lr=MAX_LEARNING_RATE,
    momentum=0.9,
    nesterov=True,
    weight_decay=WEIGHT_DECAY,
)
steps_per_epoch = len(data.train.labels) // BATCH_SIZE
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer,
    max_lr=MAX_LEARNING_RATE,
    total_steps=N_EPOCHS * steps_per_epoch,
    pct_start=0.25,
)
shuffle_generator = torch.Generator().manual_seed(SEED)


def test_loss_and_accuracy() -> tuple[float, float]:
    """Loss and accuracy on the whole test set, in evaluation mode."""
    model.eval()
    with torch.no_grad():
        images = normalize(data.test.images, mean, std).contiguous(
            memory_format=torch.channels_last
        )
        logits = torch.cat([model(batch) for batch in images.split(1000)])
    loss = F.cross_entropy(logits, data.test.labels).item()
    return loss, (logits.argmax(1) == data.test.labels).float().mean().item()


history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
training_seconds = 0.0
for epoch in range(1, N_EPOCHS + 1):
    started = time.perf_counter()
    model.train()
    order = torch.randperm(len(data.train.labels), generator=shuffle_generator)
    loss_sum = correct = seen = 0
    for step in range(steps_per_epoch):
        index = order[step * BATCH_SIZE : (step + 1) * BATCH_SIZE]
        images = normalize(data.train.images[index], mean, std)
        images = images.contiguous(memory_format=torch.channels_last)
        labels = data.train.labels[index]
        logits = model(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(labels)
        correct += (logits.argmax(1) == labels).sum().item()
        seen += len(labels)
        if (step + 1) % 50 == 0:
            print(f"  epoch {epoch} step {step + 1}/{steps_per_epoch} loss {loss.item():.3f}")
    training_seconds += time.perf_counter() - started
    history["train_loss"].append(loss_sum / seen)
    history["train_acc"].append(correct / seen)
    test_loss, test_acc = test_loss_and_accuracy()
    history["test_loss"].append(test_loss)
    history["test_acc"].append(test_acc)
    print(
        f"epoch {epoch}: train loss {loss_sum / seen:.3f} acc {correct / seen:.3f} | "
        f"test loss {test_loss:.3f} acc {test_acc:.3f} | {training_seconds:.0f} s"
    )

# %%
# The training numbers are averages over each epoch while the weights were still
# changing, in training mode, and with label smoothing in the loss; the test numbers
# are measured on the finished epoch's weights in evaluation mode, without
# smoothing. That is why the test accuracy can exceed the training accuracy here.
epochs = range(1, N_EPOCHS + 1)
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_loss.plot(epochs, history["train_loss"], marker="o", label="train (smoothed labels)")
ax_loss.plot(epochs, history["test_loss"], marker="o", label="test")
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss", xticks=list(epochs))
ax_acc.plot(epochs, history["train_acc"], marker="o", label="train")
ax_acc.plot(epochs, history["test_acc"], marker="o", label="test")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", xticks=list(epochs))
for ax in (ax_loss, ax_acc):
    ax.grid(True, alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

# %%
# Where the mistakes are
# ----------------------
# Row *i* of the confusion matrix counts how the test images of class *i* were
# classified; the diagonal holds the correct ones.
predicted = predict(model, data.test.images, mean, std)
matrix = confusion_matrix(predicted, data.test.labels, len(CLASSES))
fig, ax = plt.subplots(figsize=(7, 6))
plot_confusion_matrix(ax, matrix, CLASSES)
ax.set_title("test set confusion matrix")
fig.tight_layout()
plt.show()

per_class = matrix.diag() / matrix.sum(dim=1)
for name, accuracy in sorted(zip(CLASSES, per_class.tolist(), strict=True), key=lambda p: -p[1]):
    print(f"{name:>10}: {accuracy:.3f}")
off_diagonal = matrix - torch.diag(matrix.diag())
worst = off_diagonal.flatten().argmax().item()
true_class, wrong_class = divmod(worst, len(CLASSES))
print(
    f"most common confusion: {CLASSES[true_class]} taken for {CLASSES[wrong_class]} "
    f"({off_diagonal.flatten()[worst]} times)"
)

# %%
# Some misclassified test images, titled *true / predicted*. Many are hard even for a
# person at this resolution.
all_wrong = torch.nonzero(predicted != data.test.labels).squeeze(1)
pick = torch.randperm(len(all_wrong), generator=torch.Generator().manual_seed(SEED))
wrong = all_wrong[pick[:N_SAMPLE_IMAGES]]
fig = plot_image_grid(
    data.test.images[wrong],
    [f"{CLASSES[data.test.labels[i]]}\n/ {CLASSES[predicted[i]]}" for i in wrong],
)
plt.show()

# %%
# Result
# ------
test_accuracy = (predicted == data.test.labels).float().mean().item()
print(f"parameters: {n_parameters:,}")
print(
    f"training time: {training_seconds:.1f} s for {N_EPOCHS} epochs "
    f"({N_EPOCHS * steps_per_epoch * BATCH_SIZE / training_seconds:.0f} images/s)"
)
print(f"test accuracy: {test_accuracy:.4f}")
