"""torch.nn's shape over leap's engine: Sequential(Linear(784, 128), ReLU(), Linear(128, 10)),
CrossEntropyLoss, and the manual loop (zero_grad, forward, loss, backward, step) on numpy
batches or on leap.data.DataLoader's. The layers describe the network; Sequential builds it in
the engine, its weights drawn from leap.manual_seed's seed as `leap train --seed` draws them."""
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

from . import _core, _random


class Module:
    """A layer of a leap.nn.Sequential."""

    def _describe(self) -> list:
        raise NotImplementedError


class Linear(Module):
    """torch.nn.Linear: y = x W^T + b, W [out_features, in_features], PyTorch's initialisation."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        if not bias:
            raise NotImplementedError("leap's Linear always has a bias")
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Linear({name}): a positive int, got {value!r}")
        self.in_features, self.out_features = in_features, out_features

    def _describe(self):
        return [("linear", self.in_features, self.out_features)]


class ReLU(Module):
    """torch.nn.ReLU."""

    def _describe(self):
        return [("relu",)]


class Dropout(Module):
    """torch.nn.Dropout(p)."""

    def __init__(self, p: float = 0.5):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout(p): p must lie in [0, 1), got {p!r}")
        self.p = float(p)

    def _describe(self):
        return [("dropout", self.p)]


class Flatten(Module):
    """torch.nn.Flatten: samples are flattened anyway ((n, 28, 28) is (n, 784))."""

    def _describe(self):
        return []


class Output:
    """What a network's forward returns: the engine's logits, remembered with the network
    that made them (loss.backward() runs its backward). numpy() copies them out."""

    def __init__(self, tensor, network):
        self.tensor, self.network = tensor, network

    def numpy(self) -> np.ndarray:
        return self.tensor.numpy()

    def detach(self) -> "Output":
        return self

    def __array__(self, dtype=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    @property
    def shape(self):
        return self.tensor.shape

    def argmax(self, dim: int = 1) -> np.ndarray:
        return self.numpy().argmax(axis=dim)


class Sequential(Module):
    """torch.nn.Sequential of leap.nn layers. seed: the weights' (default: leap.manual_seed's
    next, 0 at first); device: "cpu" (as PyTorch's default), "cuda" or "auto"."""

    def __init__(self, *layers: Module, seed: Optional[int] = None, device: str = "cpu"):
        described = []
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module) or isinstance(layer, Sequential):
                raise TypeError(f"layer {index} is a {type(layer).__name__}: leap.nn.Sequential "
                                "takes leap.nn.Linear, ReLU, Dropout and Flatten")
            described += layer._describe()
        self.seed = _random.next_seed() if seed is None else seed
        self._network = _core.Network(described, self.seed, _core.resolve_device(device))

    def __call__(self, input) -> Output:
        return self.forward(input)

    def forward(self, input) -> Output:
        """Logits for a batch: numpy (float32, or uint8 pixels) or a leap.data.DataLoader batch."""
        if isinstance(input, Output):
            input = input.tensor
        return Output(self._network.forward(input), self._network)

    def parameters(self) -> List[_core.Parameter]:
        return self._network.parameters()

    def named_parameters(self) -> Iterator:
        for parameter in self.parameters():
            yield parameter.name, parameter

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """PyTorch's names and layouts, as numpy arrays (torch.from_numpy takes them as is)."""
        return OrderedDict(self._network.state_dict())

    def load_state_dict(self, state_dict: Dict[str, Any], strict: bool = True) -> None:
        """PyTorch's state_dict: numpy arrays, or torch tensors (converted with .numpy())."""
        if not strict:
            raise NotImplementedError("leap loads state_dicts strictly")
        self._network.load_state_dict(_numpy_state(state_dict))

    def zero_grad(self) -> None:
        self._network.zero_grad()

    def train(self, mode: bool = True) -> "Sequential":
        self._network.train(mode)
        return self

    def eval(self) -> "Sequential":
        self._network.eval()
        return self

    def to(self, device: str) -> "Sequential":
        self._network.to(_core.resolve_device(str(device)))
        return self

    @property
    def training(self) -> bool:
        return self._network.training

    def save(self, path: str) -> None:
        """The weights as safetensors (what `leap train --save` writes)."""
        _core.save_weights(self._network, str(path), {"format": "pt"})

    def load(self, path: str) -> None:
        _core.load_weights(self._network, str(path))

    def export_onnx(self, path: str) -> None:
        _core.export_onnx(self._network, str(path))

    def __repr__(self):
        return repr(self._network)


def _numpy_state(state_dict: Dict[str, Any]) -> Dict[str, np.ndarray]:
    """A state_dict's values as numpy arrays: torch tensors through .numpy(), as they are."""
    result = {}
    for name, value in state_dict.items():
        if hasattr(value, "detach"):  # a torch.Tensor
            value = value.detach().cpu().numpy()
        result[name] = value
    return result


class Loss:
    """A loss value: item() is the number, backward() back-propagates through the network."""

    def __init__(self, value):
        self._value = value

    def item(self) -> float:
        return self._value.item()

    def backward(self) -> None:
        self._value.backward()

    def __float__(self):
        return self.item()


class CrossEntropyLoss:
    """torch.nn.CrossEntropyLoss (mean reduction) on logits and integer labels."""

    def __init__(self, reduction: str = "mean"):
        if reduction != "mean":
            raise NotImplementedError("leap's CrossEntropyLoss takes the mean")

    def __call__(self, input: Output, target) -> Loss:
        if not isinstance(input, Output):
            raise TypeError("CrossEntropyLoss(input, target): input must be a leap.nn network's "
                            f"output, got {type(input).__name__}")
        return Loss(_core.cross_entropy(input.network, input.tensor, target))
