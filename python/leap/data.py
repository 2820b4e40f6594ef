"""torch.utils.data.DataLoader's shape for numpy arrays: batches in the order `leap train`
draws for the same seed (so a manual loop takes the CLI's steps), kept in the engine."""
from typing import Iterator, Tuple

import numpy as np

from . import _core


class DataLoader:
    """Batches of (x, y): x float32 (or uint8 pixels) [n, ...], y integer labels [n]. Each
    pass (epoch) draws a new order from (seed, epoch). The batches are engine tensors that a
    leap.nn network and CrossEntropyLoss take; .numpy() copies one out."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int = 64, shuffle: bool = True,
                 drop_last: bool = False, seed: int = 0, classes: int = 10, device: str = "cpu"):
        self._loader = _core.DataLoader(x, y, batch_size, shuffle, drop_last, seed, classes,
                                        _core.resolve_device(device))
        self.epoch = 0

    def __len__(self) -> int:
        return len(self._loader)

    def __iter__(self) -> Iterator[Tuple[_core.Tensor, _core.Tensor]]:
        self._loader.start_epoch(self.epoch)
        self.epoch += 1
        while True:
            batch = self._loader.next()
            if batch is None:
                return
            yield batch
