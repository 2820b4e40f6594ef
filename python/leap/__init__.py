"""leap from Python: its engine (C++, CUDA) in Keras' shape and in PyTorch's.

Keras:   model = leap.Sequential([leap.layers.Dense(128, activation="relu", input_shape=(784,)),
                                  leap.layers.Dense(10)])      # or leap.Sequential("784-128-10")
         model.compile(optimizer=leap.optimizers.Adam(1e-3),
                       loss=leap.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"])
         history = model.fit(x_train, y_train, epochs=10, batch_size=64)
Many:    histories = leap.fit_many([model_a, model_b], x_train, y_train, epochs=10, batch_size=64)
PyTorch: model = leap.nn.Sequential(leap.nn.Linear(784, 128), leap.nn.ReLU(), leap.nn.Linear(128, 10))
         optimizer = leap.optim.Adam(model.parameters(), lr=1e-3)
"""
from . import _core
from . import callbacks, data, datasets, distributed, layers, losses, nn, optim, optimizers
from ._core import LeapError, build_info, cuda_available, device_info
from ._random import manual_seed
from .distill import Distiller
from .many import fit_many
from .models import Sequential

__version__ = build_info()["version"]


def load_safetensors(path: str):
    """A safetensors file's tensors as {name: numpy array} (float32, or int32)."""
    return _core.load_safetensors(str(path))[0]


def save_safetensors(path: str, tensors, metadata=None) -> None:
    """numpy arrays to a safetensors file (atomic), as leap and PyTorch read them."""
    _core.save_safetensors(str(path), tensors, metadata or {})


def inspect(path: str) -> dict:
    """A safetensors file's header, as `leap inspect` shows it (tensors are not read)."""
    return _core.inspect_safetensors(str(path))


class utils:  # keras.utils' set_random_seed
    set_random_seed = staticmethod(manual_seed)


__all__ = ["Distiller", "LeapError", "Sequential", "build_info", "callbacks", "cuda_available",
           "data", "datasets", "device_info", "distributed", "fit_many", "inspect", "layers", "load_safetensors",
           "losses", "manual_seed", "nn", "optim", "optimizers", "save_safetensors", "utils"]
