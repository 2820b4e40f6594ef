"""keras.Sequential over leap's engine: compile, fit, evaluate, predict, with Keras' names,
defaults and return shapes. fit() hands the whole data set to the engine once (the same
Model::fit as `leap train`), so the backends' fast paths run; the GIL is released while it
trains, and Ctrl-C stops it at the next step with KeyboardInterrupt, the model usable."""
import json
import os
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, _random
from . import callbacks as callbacks_module
from . import layers as layers_module
from . import losses as losses_module
from . import optimizers as optimizers_module


def check_positive_int(name: str, value: Any) -> None:
    """fit()'s counts: an int above zero (not a bool), else a ValueError naming the argument."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


class Sequential:
    """keras.Sequential: Sequential([Dense(128, activation="relu", input_shape=(784,)),
    Dense(10)]), or Sequential("784-128-10") (Linear layers of those widths, ReLU between).

    seed: the weights' and fit()'s shuffling seed (default: leap.manual_seed's next, 0 at
    first, so that the model is `leap train --seed 0`'s). device: "auto" (the GPU when one
    is usable), "cpu" or "cuda". dropout: with a spec, a Dropout after each hidden ReLU."""

    def __init__(self, layers: Union[str, Sequence[layers_module.Layer], None] = None,
                 name: Optional[str] = None, *, seed: Optional[int] = None, device: str = "auto",
                 dropout: float = 0.0):
        self.name = name or "sequential"
        self.seed = _random.next_seed() if seed is None else seed
        self.device = _core.resolve_device(device)
        self.stop_training = False
        self.history: Optional[callbacks_module.History] = None
        self._spec, self._dropout = None, dropout
        self._layers: List[layers_module.Layer] = []
        self._model = None
        self._compiled: Optional[Tuple[optimizers_module.Optimizer, bool]] = None
        self._softmax = False
        if isinstance(layers, str):
            self._spec = layers
            self._model = _core.Model.from_spec(layers, self.seed, self.device, dropout)
        else:
            self._layers = list(layers or [])
            layers_module.describe(self._layers)  # a wrong layer fails here
            self._build()

    # Building -------------------------------------------------------------------------------

    def add(self, layer: layers_module.Layer) -> None:
        """keras.Sequential.add: the model is built again (new weights from its seed)."""
        if self._spec is not None:
            raise ValueError("add(): a model built from a spec takes no more layers")
        layers_module.describe(self._layers + [layer])  # a wrong layer fails here
        self._layers.append(layer)
        self._build()

    def _build(self, input_width: Optional[int] = None) -> None:
        described, width, softmax = layers_module.describe(self._layers, input_width)
        if described is None or not any(d[0] == "linear" for d in described):
            return
        self._model, self._softmax = _core.Model(described, self.seed, self.device), softmax
        if self._compiled:
            self._apply_compile()

    def _engine_model(self, x: Any = None):
        """The engine's model, built now when only the data shows the input width."""
        if self._model is None:
            if x is None or not hasattr(x, "shape") or len(x.shape) < 2:
                raise ValueError("the model does not know its input width yet: give the first "
                                 "layer input_shape=, start with leap.layers.Input, or call fit()")
            self._build(int(np.prod(x.shape[1:])))
        return self._model

    @property
    def built(self) -> bool:
        return self._model is not None

    @property
    def network(self):
        """The engine's network (leap._core.Network): parameters, state_dict, forward."""
        return self._engine_model().network

    # Keras' API -----------------------------------------------------------------------------

    def compile(self, optimizer: Union[str, optimizers_module.Optimizer] = "adam",
                loss: Union[str, losses_module.SparseCategoricalCrossentropy, None] = None,
                metrics: Optional[Sequence[str]] = None) -> None:
        """keras.Model.compile. loss: SparseCategoricalCrossentropy (from_logits=True on
        logits; from_logits=False when the last Dense has activation="softmax"). metrics:
        ["accuracy"] or none; accuracy is always recorded."""
        optimizer = optimizers_module.get(optimizer)
        loss = losses_module.get(loss)
        for metric in metrics or []:
            if metric not in ("accuracy", "sparse_categorical_accuracy"):
                raise ValueError(f"unknown metric {metric!r} (leap knows 'accuracy')")
        self._compiled = (optimizer, loss.from_logits)
        self._metrics = list(metrics or [])
        if self._model is not None:
            self._apply_compile()

    def _apply_compile(self):
        optimizer, from_logits = self._compiled
        if not from_logits and not self._softmax:
            raise ValueError("SparseCategoricalCrossentropy(from_logits=False) needs probabilities: "
                             "give the last Dense activation='softmax', or use from_logits=True")
        if from_logits and self._softmax:
            raise ValueError("the last layer applies softmax: use from_logits=False")
        self._model.compile(optimizer.name, optimizer.settings(), ["accuracy"])
        self.optimizer = optimizer

    def fit(self, x: np.ndarray, y: np.ndarray, batch_size: Optional[int] = None, epochs: int = 1,
            verbose: Union[int, str] = "auto", callbacks: Optional[List[callbacks_module.Callback]] = None,
            validation_split: float = 0.0,
            validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None, shuffle: bool = True,
            *, seed: Optional[int] = None, drop_last: bool = False, precision: str = "auto",
            schedule: str = "none", communicator: Optional[_core.Communicator] = None,
            run_dir: Optional[str] = None, checkpoint_every: Union[int, str] = 0,
            resume_from: Optional[str] = None, on_nan: str = "stop",
            fast_path: bool = True) -> callbacks_module.History:
        """keras.Model.fit on numpy arrays: x float32 (or uint8 pixels, scaled by 1/255) of
        shape (n, features) or (n, ...) flattened; y integer labels (n,). Returns a History.

        verbose: 0 silent, 1 or "auto" Keras' progress bar, 2 one line an epoch.
        leap's own, as `leap train` names them: seed (shuffling; default the model's),
        drop_last, precision ("auto", "fp32", "tf32", "bf16"), schedule ("none", "step",
        "cosine"), communicator (data parallel: leap.distributed), run_dir (metrics.csv,
        metrics.jsonl, checkpoint.safetensors and report.html there), checkpoint_every
        (epochs, or "500steps"; needs run_dir), resume_from (a checkpoint or run directory),
        on_nan ("stop" or "skip"), fast_path (False: layer by layer)."""
        check_positive_int("epochs", epochs)
        if batch_size is None:
            batch_size = 32
        check_positive_int("batch_size", batch_size)
        if verbose not in (0, 1, 2, "auto"):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        model = self._engine_model(x)
        if not model.compiled:
            raise RuntimeError("the model is not compiled: call compile() before fit()")
        if validation_split:
            if validation_data is not None:
                raise ValueError("give validation_split or validation_data, not both")
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must lie in (0, 1), got {validation_split!r}")
            split = int(len(x) * (1 - validation_split))  # Keras: the last samples
            x, y, validation_data = x[:split], y[:split], (x[split:], y[split:])
        options: Dict[str, Any] = {
            "epochs": epochs, "batch_size": batch_size, "shuffle": shuffle, "drop_last": drop_last,
            "seed": self.seed if seed is None else seed, "precision": precision, "schedule": schedule,
            "communicator": communicator, "on_nan": on_nan, "fast_path": fast_path,
            "handle_signals": threading.current_thread() is threading.main_thread()}
        leader = communicator is None or communicator.rank == 0
        engine_callbacks = []
        if verbose != 0 and leader:
            engine_callbacks.append(_core.ProgressLine())
        run = _RunDirectory(run_dir, options, checkpoint_every, resume_from) if run_dir else None
        if run is None and (checkpoint_every or resume_from):
            if resume_from and not os.path.isdir(resume_from):
                options["resume_from"] = resume_from
            else:
                raise ValueError("checkpoint_every and resume_from (a directory) need run_dir=")
        if run is not None and leader:
            engine_callbacks += run.loggers()
        self.stop_training = False
        params = {"epochs": epochs, "verbose": verbose, "steps": None}
        engine_callbacks += callbacks_module.engine_list(callbacks, self, params)
        engine_history = model.fit(x, y, options, validation_data, engine_callbacks)
        history = callbacks_module.History(engine_history.epochs(), self, params, engine_history)
        self.history = history
        self._last_fit = (engine_history, batch_size, run)
        if run is not None and leader:
            run.finish(self)
        return history

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: Optional[int] = None,
                 verbose: Union[int, str] = "auto", return_dict: bool = False, *,
                 communicator: Optional[_core.Communicator] = None):
        """keras.Model.evaluate: [loss, accuracy] (or the loss alone when compiled without
        metrics; a dict with return_dict)."""
        loss, accuracy = self._engine_model(x).evaluate(x, y, batch_size or 1024, communicator)
        if return_dict:
            return {"loss": loss, "accuracy": accuracy}
        return [loss, accuracy] if getattr(self, "_metrics", ["accuracy"]) else loss

    def predict(self, x: np.ndarray, batch_size: Optional[int] = None,
                verbose: Union[int, str] = "auto") -> np.ndarray:
        """keras.Model.predict: the last layer's outputs (logits, or probabilities after a
        softmax activation), float32 (n, classes)."""
        outputs = self._engine_model(x).predict(x, batch_size or 1024)
        if self._softmax:
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs /= outputs.sum(axis=1, keepdims=True)
        return outputs

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.predict(x)

    def summary(self) -> None:
        """Prints the layers and the parameter count."""
        network = self.network
        print(f'Model: "{self.name}"\n{network!r}\nTotal params: {network.parameter_count():,}')

    def count_params(self) -> int:
        return self.network.parameter_count()

    def get_weights(self) -> List[np.ndarray]:
        """keras.Model.get_weights: each layer's kernel [inputs, units] then bias, as Keras
        lays them out (the transpose of PyTorch's weight)."""
        weights = []
        for name, value in self.state_dict().items():
            weights.append(np.ascontiguousarray(value.T) if name.endswith("weight") else value)
        return weights

    def state_dict(self) -> Dict[str, np.ndarray]:
        """PyTorch's state_dict ("0.weight" [out, in], "0.bias", ...) as numpy arrays."""
        return self.network.state_dict()

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        from .nn import _numpy_state
        self.network.load_state_dict(_numpy_state(state_dict))

    def save_weights(self, filepath: str) -> None:
        """The weights as safetensors with PyTorch's names (what `leap train --save` writes)."""
        metadata = {"format": "pt"}
        if self._spec:
            metadata["model"] = self._spec
        _core.save_weights(self.network, str(filepath), metadata)

    def load_weights(self, filepath: str) -> None:
        _core.load_weights(self.network, str(filepath))

    def export_onnx(self, filepath: str) -> None:
        """ONNX (opset 13), as `leap export --format onnx` writes it."""
        _core.export_onnx(self.network, str(filepath), self._spec or "")

    def compute_report(self) -> Dict[str, Any]:
        """The last fit's compute report (device, path, FLOPs, throughput, MFU, energy), as
        `leap train` prints it and writes to its metrics file."""
        engine_history, batch_size, _ = self._fitted()
        return json.loads(_core.compute_report_json(self._model, engine_history, batch_size))

    def write_report(self, path: str) -> None:
        """report.html of the last fit: its curves and the compute table (offline)."""
        engine_history, batch_size, _ = self._fitted()
        _core.write_fit_report(str(path), f"leap fit {self.name}", self.name, self._model,
                               engine_history, batch_size)

    def _fitted(self):
        if getattr(self, "_last_fit", None) is None:
            raise RuntimeError("the model has not been fitted yet")
        return self._last_fit

    @property
    def training_path(self) -> str:
        """How the last fit trained: the backend's fast path, or layer by layer and why."""
        return self._engine_model().training_path

    @property
    def precision(self) -> str:
        return self._engine_model().precision

    def __repr__(self):
        return repr(self.network) if self.built else f"<leap.Sequential {self.name}, not built>"


class _RunDirectory:
    """What `leap train` leaves in its run directory: metrics.csv, metrics.jsonl,
    checkpoint.safetensors (at the end, every checkpoint_every, and on Ctrl-C) and
    report.html; resume_from a run directory goes on there."""

    def __init__(self, path, options, checkpoint_every, resume_from):
        os.makedirs(path, exist_ok=True)
        self.path = path
        self.checkpoint = os.path.join(path, "checkpoint.safetensors")
        options["checkpoint_path"] = self.checkpoint
        options["checkpoint_at_end"] = True
        if isinstance(checkpoint_every, str):
            every = checkpoint_every.replace("epochs", "")
            options["checkpoint_in_steps"] = every.endswith("steps")
            every = every.replace("steps", "")
            if not every.isdigit() or int(every) <= 0:
                raise ValueError(f"checkpoint_every: a positive count, alone or followed by 'epochs' "
                                 f"or 'steps' (e.g. 2, '500steps'); got {checkpoint_every!r}")
            checkpoint_every = int(every)
        if checkpoint_every < 0:
            raise ValueError("checkpoint_every must not be negative")
        options["checkpoint_every"] = checkpoint_every
        if resume_from:
            options["resume_from"] = (os.path.join(resume_from, "checkpoint.safetensors")
                                      if os.path.isdir(resume_from) else resume_from)
        self.append = bool(resume_from)
        self.csv = os.path.join(path, "metrics.csv")

    def loggers(self):
        self.jsonl = _core.JsonlLogger(os.path.join(self.path, "metrics.jsonl"))
        return [_core.CSVLogger(self.csv, ",", self.append), self.jsonl]

    def finish(self, model):
        engine_history, batch_size, _ = model._last_fit
        report = _core.compute_report_json(model._model, engine_history, batch_size)
        self.jsonl.write_line('{"compute": ' + report + "}")
        _core.write_fit_report(os.path.join(self.path, "report.html"), f"leap fit {model.name}",
                               model.name, model._model, engine_history, batch_size, self.csv)
