"""Keras' optimizers for compile(): Adam and SGD, with PyTorch's update rules (those of
leap's engine). Adam's epsilon defaults to 1e-8 (PyTorch's and leap's; Keras says 1e-7)."""


class Optimizer:
    name = ""

    def settings(self) -> dict:
        raise NotImplementedError


class Adam(Optimizer):
    """keras.optimizers.Adam."""
    name = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0):
        _check_rate(learning_rate)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.epsilon, self.weight_decay = epsilon, weight_decay or 0.0

    def settings(self):
        return {"lr": self.learning_rate, "beta1": self.beta_1, "beta2": self.beta_2,
                "eps": self.epsilon, "weight_decay": self.weight_decay}


class SGD(Optimizer):
    """keras.optimizers.SGD."""
    name = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        _check_rate(learning_rate)
        self.learning_rate, self.momentum, self.nesterov = learning_rate, momentum, nesterov
        self.weight_decay = weight_decay or 0.0

    def settings(self):
        return {"lr": self.learning_rate, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


def _check_rate(rate):
    if not isinstance(rate, (int, float)) or not rate >= 0:
        raise ValueError(f"learning_rate must be a non-negative number, got {rate!r}")


def get(optimizer) -> Optimizer:
    """An optimizer from compile()'s argument: an instance, or "adam" / "sgd"."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if optimizer == "adam":
        return Adam()
    if optimizer == "sgd":
        return SGD()
    raise ValueError(f"optimizer must be leap.optimizers.Adam or SGD, 'adam' or 'sgd'; got {optimizer!r}")
