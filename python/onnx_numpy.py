"""Evaluates the ONNX graphs leap exports with numpy alone, for onnx versions without
onnx.reference (Debian's 1.12) and machines without onnxruntime.

Knows the operators a Sequential MLP needs: Gemm, MatMul, Add, Relu, Identity."""
import numpy as np
from onnx import numpy_helper


def _attributes(node):
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _gemm(node, a, b, c=None):
    attrs = _attributes(node)
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    y = np.float32(attrs.get("alpha", 1.0)) * (a @ b)
    if c is not None:
        y = y + np.float32(attrs.get("beta", 1.0)) * c
    return y


_OPERATORS = {
    "Gemm": _gemm,
    "MatMul": lambda node, a, b: a @ b,
    "Add": lambda node, a, b: a + b,
    "Relu": lambda node, x: np.maximum(x, np.float32(0)),
    "Identity": lambda node, x: x,
}


def run(model, inputs):
    """The graph's outputs (a list, in order) for `inputs`, a dict of input name -> array."""
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values.update(inputs)
    for node in model.graph.node:
        if node.op_type not in _OPERATORS:
            raise NotImplementedError(f"onnx_numpy: operator {node.op_type} is not known here")
        args = [values[name] for name in node.input if name]
        values[node.output[0]] = _OPERATORS[node.op_type](node, *args).astype(np.float32)
    return [values[output.name] for output in model.graph.output]
