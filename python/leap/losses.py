"""Keras' losses for compile(): softmax cross-entropy on integer labels, the one leap trains."""


class SparseCategoricalCrossentropy:
    """keras.losses.SparseCategoricalCrossentropy. from_logits=False expects the model's last
    Dense layer to have activation="softmax" (leap then trains on its logits, the same loss)."""

    def __init__(self, from_logits: bool = False):
        self.from_logits = from_logits


def get(loss) -> SparseCategoricalCrossentropy:
    if isinstance(loss, SparseCategoricalCrossentropy):
        return loss
    if loss in (None, "sparse_categorical_crossentropy"):
        return SparseCategoricalCrossentropy(from_logits=False)
    raise ValueError(f"loss must be leap.losses.SparseCategoricalCrossentropy or "
                     f"'sparse_categorical_crossentropy', got {loss!r}")
