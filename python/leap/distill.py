"""keras' Distiller recipe (`leap distill`): a student trained on a frozen teacher's logits,
alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, y)."""
from typing import Optional

from . import _core
from . import callbacks as callbacks_module
from . import optimizers as optimizers_module
from .models import Sequential


class Distiller:
    """Distiller(teacher, student, temperature=2.0, alpha=0.5): both leap.Sequential models;
    compile(optimizer) the student's optimizer; fit(x, y, ...) as Sequential.fit; the
    teacher runs forward once over x."""

    def __init__(self, teacher: Sequential, student: Sequential, temperature: float = 2.0,
                 alpha: float = 0.5):
        if not isinstance(teacher, Sequential) or not isinstance(student, Sequential):
            raise TypeError("Distiller(teacher, student): both must be leap.Sequential models")
        self.teacher, self.student = teacher, student
        self._engine = _core.Distiller(teacher._engine_model(), student._engine_model(),
                                       temperature, alpha)

    def compile(self, optimizer="adam") -> None:
        optimizer = optimizers_module.get(optimizer)
        self._engine.compile(optimizer.name, optimizer.settings())
        self.student._compiled = (optimizer, True)

    def fit(self, x, y, batch_size: Optional[int] = None, epochs: int = 1, verbose=0,
            callbacks=None, validation_data=None, shuffle: bool = True, *,
            seed: Optional[int] = None, precision: str = "auto") -> callbacks_module.History:
        if not self.student._engine_model().compiled:
            raise RuntimeError("the Distiller is not compiled: call compile() before fit()")
        options = {"epochs": epochs, "batch_size": batch_size or 32, "shuffle": shuffle,
                   "seed": self.student.seed if seed is None else seed, "precision": precision,
                   "handle_signals": True}
        engine_callbacks = [_core.ProgressLine()] if verbose else []
        params = {"epochs": epochs, "verbose": verbose}
        engine_callbacks += callbacks_module.engine_list(callbacks, self.student, params)
        engine_history = self._engine.fit(self.student._engine_model(), x, y, options,
                                          validation_data, engine_callbacks)
        self.student._last_fit = (engine_history, options["batch_size"], None)
        return callbacks_module.History(engine_history.epochs(), self.student, params, engine_history)

    def evaluate(self, x, y, **kwargs):
        return self.student.evaluate(x, y, **kwargs)
