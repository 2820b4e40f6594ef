"""Keras' callbacks. EarlyStopping, ModelCheckpoint, CSVLogger, ReduceLROnPlateau and
TerminateOnNaN run in leap's engine (the same code as the C++ API's and the CLI's); any
other subclass of Callback runs in Python, called at the run's and every epoch's start and
end (never per batch: the engine keeps whole epochs on the device)."""
from typing import Any, Dict, List, Optional

from . import _core


class Callback:
    """keras.callbacks.Callback. `self.model` is the model being fitted; setting
    `self.model.stop_training = True` stops after the epoch. Epochs are 0-based, as in Keras."""

    def __init__(self):
        self.model = None
        self.params: Dict[str, Any] = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs: Optional[dict] = None): ...
    def on_train_end(self, logs: Optional[dict] = None): ...
    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None): ...
    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None): ...


class LambdaCallback(Callback):
    """keras.callbacks.LambdaCallback (the epoch and run hooks)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None):
        super().__init__()
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, fn)


class History(Callback):
    """keras.callbacks.History: what fit() returns. history: {"loss": [...], "accuracy": [...],
    "val_loss": [...], "val_accuracy": [...]} (validation figures when validated), plus
    leap's per-epoch "seconds", "us_per_step", "steps", "lr"; epoch: the 0-based epochs."""

    def __init__(self, epochs: Optional[List[dict]] = None, model=None, params=None, engine=None):
        super().__init__()
        self.model, self.params = model, params or {}
        self.epoch: List[int] = []
        self.history: Dict[str, List[float]] = {}
        self._engine = engine  # the engine's record, for compute_report()
        for logs in epochs or []:
            self.epoch.append(logs["epoch"] - 1)
            for key, value in logs.items():
                if key != "epoch":
                    self.history.setdefault(key, []).append(value)


class _EngineCallback(Callback):
    """A callback that runs in the engine: made for the model when fit() starts."""

    def _engine(self, model):
        raise NotImplementedError


class EarlyStopping(_EngineCallback):
    """keras.callbacks.EarlyStopping (monitor, min_delta, patience; mode 'auto')."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline=None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        if mode != "auto" or baseline is not None or restore_best_weights or start_from_epoch:
            raise NotImplementedError("leap's EarlyStopping takes monitor, min_delta and patience "
                                      "(mode 'auto': higher is better for accuracies)")
        self.monitor, self.min_delta, self.patience = monitor, min_delta, patience

    def _engine(self, model):
        return _core.EarlyStopping(self.monitor, self.patience, abs(self.min_delta))


class ModelCheckpoint(_EngineCallback):
    """keras.callbacks.ModelCheckpoint: the weights as safetensors after each epoch (or when
    `monitor` improved, with save_best_only); the path may name figures:
    "ckpt-{epoch:02d}-{val_loss:.4f}.safetensors"."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = True, mode: str = "auto"):
        super().__init__()
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.mode = save_best_only, mode

    def _engine(self, model):
        return _core.ModelCheckpoint(model._engine_model().network, self.filepath, self.monitor,
                                     self.save_best_only, self.mode, bool(self.verbose))


class CSVLogger(_EngineCallback):
    """keras.callbacks.CSVLogger: epoch,loss,accuracy,val_loss,val_accuracy then leap's
    seconds,us_per_step,steps,lr."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        super().__init__()
        if len(separator) != 1:
            raise ValueError(f"CSVLogger(separator): one character, got {separator!r}")
        self.filename, self.separator, self.append = str(filename), separator, append

    def _engine(self, model):
        return _core.CSVLogger(self.filename, self.separator, self.append)


class ReduceLROnPlateau(_EngineCallback):
    """keras.callbacks.ReduceLROnPlateau."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0):
        super().__init__()
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau(factor): must lie in (0, 1), got {factor!r}")
        self.args = (monitor, factor, patience, mode, min_delta, cooldown, min_lr, bool(verbose))

    def _engine(self, model):
        return _core.ReduceLROnPlateau(model._engine_model().optimizer, *self.args)


class TerminateOnNaN(_EngineCallback):
    """keras.callbacks.TerminateOnNaN: stops after an epoch whose loss is NaN or infinite."""

    def _engine(self, model):
        return _core.TerminateOnNaN()


class _PythonHooks:
    """What the engine calls for one Python callback: Keras' hooks with 0-based epochs."""

    def __init__(self, callback: Callback, model):
        self.callback, self.model = callback, model

    def on_train_begin(self):
        self.callback.on_train_begin({})

    def on_epoch_begin(self, epoch, epochs, steps):
        self.callback.on_epoch_begin(epoch - 1, {})

    def on_epoch_end(self, logs):
        epoch = logs.pop("epoch") - 1
        self.callback.on_epoch_end(epoch, logs)
        return bool(getattr(self.model, "stop_training", False))

    def on_train_end(self):
        self.callback.on_train_end({})


def engine_list(callbacks, model, params) -> list:
    """fit()'s callbacks for the engine, in their order."""
    result = []
    for callback in callbacks or []:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be leap.callbacks.Callback instances, got "
                            f"{type(callback).__name__}")
        callback.set_model(model)
        callback.set_params(params)
        if isinstance(callback, _EngineCallback):
            result.append(callback._engine(model))
        else:
            result.append(_PythonHooks(callback, model))
    return result
