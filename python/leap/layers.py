"""Keras' layers for leap.Sequential: Dense (with relu or softmax), Dropout, ReLU, Input and
Flatten. They describe the network; leap.Sequential builds it in the engine."""
from typing import Optional, Sequence


class Layer:
    """A layer of a leap.Sequential model."""


class Input(Layer):
    """keras.Input: the shape of one sample, e.g. Input(shape=(784,)) or (28, 28)."""

    def __init__(self, shape: Sequence[int]):
        self.shape = tuple(shape)


class Dense(Layer):
    """keras.layers.Dense: y = activation(x W^T + b), W [units, inputs] as in PyTorch, with
    PyTorch's default initialisation. activation: None, "linear", "relu" or "softmax" (the
    last layer's only: the loss then works on the logits, as from_logits=True does)."""

    def __init__(self, units: int, activation: Optional[str] = None,
                 input_shape: Optional[Sequence[int]] = None, input_dim: Optional[int] = None):
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense(units): units must be a positive int, got {units!r}")
        if activation not in (None, "linear", "relu", "softmax"):
            raise ValueError(f"Dense(activation={activation!r}): leap has None, 'linear', "
                             "'relu' and 'softmax'")
        self.units = units
        self.activation = None if activation == "linear" else activation
        self.input_shape = tuple(input_shape) if input_shape is not None else (
            (input_dim,) if input_dim is not None else None)


class ReLU(Layer):
    """keras.layers.ReLU."""


class Dropout(Layer):
    """keras.layers.Dropout(rate): zeroes inputs with probability `rate` while training."""

    def __init__(self, rate: float):
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout(rate): rate must lie in [0, 1), got {rate!r}")
        self.rate = float(rate)


class Flatten(Layer):
    """keras.layers.Flatten: samples are flattened anyway (x of shape (n, 28, 28) is (n, 784))."""


def _width(shape):
    width = 1
    for size in shape:
        width *= int(size)
    return width


def describe(layers, input_width=None):
    """The engine's layer tuples for Keras layers, the input width, and whether the last
    layer applies softmax. input_width: known from the data when no layer names it."""
    described, width, softmax = [], input_width, False
    for index, layer in enumerate(layers):
        if softmax:
            raise ValueError("a softmax activation must be the last layer's")
        if isinstance(layer, Input):
            width = _width(layer.shape)
        elif isinstance(layer, Dense):
            if layer.input_shape is not None:
                width = _width(layer.input_shape)
            if width is None:
                return None, None, False  # built when the data shows the input width
            described.append(("linear", width, layer.units))
            if layer.activation == "relu":
                described.append(("relu",))
            softmax = layer.activation == "softmax"
            width = layer.units
        elif isinstance(layer, ReLU):
            described.append(("relu",))
        elif isinstance(layer, Dropout):
            described.append(("dropout", layer.rate))
        elif isinstance(layer, Flatten):
            pass
        else:
            raise TypeError(f"layer {index} is a {type(layer).__name__}: leap.Sequential takes "
                            "leap.layers (Input, Dense, ReLU, Dropout, Flatten)")
    return described, width, softmax
