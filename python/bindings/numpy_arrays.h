// numpy arrays in and out of the engine. Inputs are checked here, so that a wrong array is a
// TypeError or ValueError naming the argument and what was expected, never a crash.
#pragma once

#include <pybind11/numpy.h>

#include <string>

#include "bindings.h"
#include "leap/leap.h"

namespace leap::python {

// Samples x[n, ...] (float32, or uint8 pixels scaled by 1/255 as leap's IDX reader does) as
// float32 [n, width]: the axes after the first are flattened, as Keras' Flatten would, and
// must hold `width` values (any width when width is 0). `name` is the argument's name.
Tensor samples_from_numpy(const py::handle& x, int64_t width, const std::string& name);
// Integer class labels y[n] (or [n, 1]) as int32, each in [0, classes).
Tensor labels_from_numpy(const py::handle& y, int64_t samples, int classes, const std::string& name);
// float32 [rows, columns] exactly (soft targets, state_dict values).
Tensor floats_from_numpy(const py::handle& array, const Shape& shape, const std::string& name);
// x and y as a data set for a model of `inputs` inputs and `classes` outputs.
Dataset dataset_from_numpy(const py::handle& x, const py::handle& y, int64_t inputs, int classes,
                           const std::string& x_name, const std::string& y_name);
// A copy in a new numpy array (from any device).
py::array to_numpy(const Tensor& tensor);

}  // namespace leap::python
