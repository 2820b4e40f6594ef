"""torch.optim's Adam and SGD over leap's engine, with PyTorch's update rules and defaults."""
from typing import List

from . import _core


class _Optimizer:
    def __init__(self, engine):
        self._engine = engine
        self.param_groups = [_LearningRate(engine)]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._engine.zero_grad()

    def step(self) -> None:
        self._engine.step()

    def __repr__(self):
        return repr(self._engine)


class _LearningRate(dict):
    """param_groups[0]["lr"], read and written through to the engine."""

    def __init__(self, engine):
        super().__init__()
        self._engine = engine

    def __getitem__(self, key):
        if key == "lr":
            return self._engine.lr
        return super().__getitem__(key)

    def __setitem__(self, key, value):
        if key == "lr":
            self._engine.lr = value
        else:
            super().__setitem__(key, value)


def _parameters(params) -> List[_core.Parameter]:
    params = list(params)
    if not params or not all(isinstance(p, _core.Parameter) for p in params):
        raise TypeError("params must be a leap network's parameters() (leap.nn.Sequential.parameters())")
    return params


class Adam(_Optimizer):
    """torch.optim.Adam."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if not lr >= 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(_core.Adam(_parameters(params), lr, betas[0], betas[1], eps, weight_decay))


class SGD(_Optimizer):
    """torch.optim.SGD."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        if not lr >= 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        super().__init__(_core.SGD(_parameters(params), lr, momentum, dampening, weight_decay, nesterov))
