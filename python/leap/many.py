"""Many models at once: seeds, sweeps and ensembles of leap.Sequential trained side by side over
one copy of the data (leap::fit_many, what `leap sweep` runs). Each model keeps its own weights,
optimizer state, shuffling seed and callbacks, and ends with the weights its own fit() would
give it: on the CPU the models spread over the cores, one a core; on a GPU (workers=N) the
persistent kernel runs every model's steps in one launch, a cluster of blocks a model."""
import threading
from typing import List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from . import callbacks as callbacks_module
from .models import Sequential, check_positive_int


def fit_many(models: Sequence[Sequential], x: np.ndarray, y: np.ndarray, *, epochs: int = 1,
             batch_size: int = 32, validation_data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
             shuffle: bool = True, seeds: Optional[Sequence[int]] = None, drop_last: bool = False,
             precision: str = "auto", schedule: str = "none",
             callbacks: Optional[Sequence[Sequence[callbacks_module.Callback]]] = None,
             workers: int = 0) -> List[callbacks_module.History]:
    """Trains compiled leap.Sequential models at once on (x, y), as model.fit(x, y, ...) would
    train each, and returns their Histories in order (each also set as the model's .history).

    seeds: each model's shuffling seed (default: each model's own, as fit() takes it).
    callbacks: one list a model (callbacks keep state, so each model has its own), or None.
    workers: CPU: models at once, a core each (0: one a core; 1: one after another, each on
    every core); GPU: N > 1 models at once, the persistent kernel's steps in one launch (0 or 1:
    one after another, until that path has run on a GPU). The other arguments are fit()'s."""
    models = list(models)
    if not models:
        raise ValueError("models is empty: give at least one compiled leap.Sequential")
    for i, model in enumerate(models):
        if not isinstance(model, Sequential):
            raise TypeError(f"models[{i}] must be a leap.Sequential, got {type(model).__name__}")
        for j in range(i):
            if models[j] is model:
                raise ValueError(f"models[{i}] is models[{j}]: each model trains once")
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    if seeds is not None and len(seeds) != len(models):
        raise ValueError(f"seeds has {len(seeds)} values for {len(models)} models")
    if callbacks is not None and len(callbacks) != len(models):
        raise ValueError(f"callbacks has {len(callbacks)} lists for {len(models)} models (one list a model)")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ValueError(f"workers must be an int >= 0, got {workers!r}")
    engines = [model._engine_model(x) for model in models]
    for i, engine in enumerate(engines):
        if not engine.compiled:
            raise RuntimeError(f"models[{i}] is not compiled: call compile() before fit_many()")
    params = {"epochs": epochs, "verbose": 0, "steps": None}
    options, engine_callbacks = [], []
    main_thread = threading.current_thread() is threading.main_thread()
    for i, model in enumerate(models):
        options.append({"epochs": epochs, "batch_size": batch_size, "shuffle": shuffle,
                         "drop_last": drop_last, "seed": model.seed if seeds is None else int(seeds[i]),
                         "precision": precision, "schedule": schedule, "handle_signals": main_thread})
        model.stop_training = False
        engine_callbacks.append(callbacks_module.engine_list(callbacks[i] if callbacks else None, model, params))
    engine_histories = _core.fit_many(engines, x, y, options, validation_data, engine_callbacks, workers)
    histories = []
    for model, engine_history in zip(models, engine_histories):
        model.history = callbacks_module.History(engine_history.epochs(), model, params, engine_history)
        model._last_fit = (engine_history, batch_size, None)
        histories.append(model.history)
    return histories
