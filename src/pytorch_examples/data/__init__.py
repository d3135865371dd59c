"""Data sets for the examples, and the data directory they are read from.

- :mod:`~pytorch_examples.data.download`: the data directory, the per-user cache and
  hash-checked downloads;
- :mod:`~pytorch_examples.data.splits`: random training, validation and test splits;
- :mod:`~pytorch_examples.data.synthetic`: points on a line, two classes, a sine;
- :mod:`~pytorch_examples.data.names`: first names as characters, for language models;
- :mod:`~pytorch_examples.data.surnames`: surnames labelled with their language;
- :mod:`~pytorch_examples.data.shakespeare`: tiny Shakespeare, one text split by position;
- :mod:`~pytorch_examples.data.digits`: scikit-learn's 8x8 handwritten digits;
- :mod:`~pytorch_examples.data.cifar10`: the CIFAR-10 photos as uint8 tensors.
"""
