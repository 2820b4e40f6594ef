"""The seed that new models draw their weights from (leap.manual_seed sets it)."""

_next_seed = 0


def manual_seed(seed: int) -> None:
    """The next model built (leap.Sequential or leap.nn.Sequential) draws its weights, and
    fit() its shuffling, from `seed`; later models from seed + 1, seed + 2, ... As
    torch.manual_seed and keras.utils.set_random_seed, with leap's generator: the same seed
    gives the weights of `leap train --seed SEED`."""
    global _next_seed
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    _next_seed = seed


def next_seed() -> int:
    global _next_seed
    seed = _next_seed
    _next_seed += 1
    return seed
