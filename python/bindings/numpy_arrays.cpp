#include "numpy_arrays.h"

#include <cstring>

#include "leap/leap.h"

namespace leap::python {
namespace {

std::string shape_text(const py::array& array) {
  std::string text = "(";
  for (py::ssize_t axis = 0; axis < array.ndim(); ++axis)
    text += (axis ? ", " : "") + std::to_string(array.shape(axis));
  return text + (array.ndim() == 1 ? ",)" : ")");
}

// The array itself: no conversion, so that a wrong dtype or layout is reported, not copied.
py::array numpy_array(const py::handle& value, const std::string& name) {
  if (!py::isinstance<py::array>(value))
    throw py::type_error(name + " must be a numpy.ndarray, got " +
                         std::string(py::str(value.get_type().attr("__name__"))));
  py::array array = py::reinterpret_borrow<py::array>(value);
  if (!(array.flags() & py::array::c_style))
    throw py::value_error(name + " must be C-contiguous (np.ascontiguousarray(" + name +
                          ") makes it so), got an array of shape " + shape_text(array) +
                          " with strides that are not row-major");
  return array;
}

}  // namespace

Tensor samples_from_numpy(const py::handle& x, int64_t width, const std::string& name) {
  py::array array = numpy_array(x, name);
  const bool pixels = array.dtype().is(py::dtype::of<uint8_t>());
  if (!pixels && !array.dtype().is(py::dtype::of<float>()))
    throw py::type_error(name + " must be float32 or uint8, got " +
                         std::string(py::str(array.dtype())) + " (x.astype(np.float32) converts it)");
  if (array.ndim() < 2 || array.shape(0) == 0)
    throw py::value_error(name + " must be a non-empty array of samples [n, features], got shape " +
                          shape_text(array));
  const int64_t rows = array.shape(0);
  const int64_t features = array.size() / rows;
  if (width > 0 && features != width)
    throw py::value_error(name + " has " + std::to_string(features) + " values per sample (shape " +
                          shape_text(array) + ") but the model takes " + std::to_string(width));
  Tensor samples({rows, features});
  float* out = samples.data();
  const size_t count = size_t(rows * features);
  py::gil_scoped_release release;  // a large copy; numpy's array stays alive meanwhile
  if (pixels) {
    const uint8_t* in = static_cast<const uint8_t*>(array.data());
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]) / 255.0f;
  } else {
    std::memcpy(out, array.data(), count * sizeof(float));
  }
  return samples;
}

Tensor labels_from_numpy(const py::handle& y, int64_t samples, int classes, const std::string& name) {
  py::array array = numpy_array(y, name);
  if (array.dtype().kind() != 'i' && array.dtype().kind() != 'u')
    throw py::type_error(name + " must hold integer class labels, got " +
                         std::string(py::str(array.dtype())));
  const bool column = array.ndim() == 2 && array.shape(1) == 1;
  if (!(array.ndim() == 1 || column) || array.shape(0) != samples)
    throw py::value_error(name + " must be labels of shape (" + std::to_string(samples) +
                          ",), one a sample, got shape " + shape_text(array));
  // Any integer dtype, as int64 first: numpy converts, and the range check sees every value.
  py::array_t<int64_t, py::array::c_style | py::array::forcecast> wide(array);
  const int64_t* values = wide.data();
  Tensor labels({samples}, DType::int32);
  int32_t* out = labels.labels();
  for (int64_t i = 0; i < samples; ++i) {
    if (values[i] < 0 || values[i] >= classes)
      throw py::value_error(name + "[" + std::to_string(i) + "] is " + std::to_string(values[i]) +
                            ", outside [0, " + std::to_string(classes) + "): the model has " +
                            std::to_string(classes) + " outputs");
    out[i] = int32_t(values[i]);
  }
  return labels;
}

Tensor floats_from_numpy(const py::handle& value, const Shape& shape, const std::string& name) {
  py::array array = numpy_array(value, name);
  if (!array.dtype().is(py::dtype::of<float>()))
    throw py::type_error(name + " must be float32, got " + std::string(py::str(array.dtype())));
  Shape actual(array.shape(), array.shape() + array.ndim());
  if (actual != shape)
    throw py::value_error(name + " must have shape " + to_string(shape) + ", got " + shape_text(array));
  Tensor tensor(shape);
  std::memcpy(tensor.data(), array.data(), tensor.bytes());
  return tensor;
}

Dataset dataset_from_numpy(const py::handle& x, const py::handle& y, int64_t inputs, int classes,
                           const std::string& x_name, const std::string& y_name) {
  Dataset data;
  data.images = samples_from_numpy(x, inputs, x_name);
  data.labels = labels_from_numpy(y, data.size(), classes, y_name);
  data.classes = classes;
  try {
    check_dataset(data, inputs, classes, x_name);  // NaN and Inf inputs
  } catch (const Error& e) {
    throw py::value_error(e.what());
  }
  return data;
}

py::array to_numpy(const Tensor& tensor) {
  const Tensor host = tensor.to(Device::cpu);
  std::vector<py::ssize_t> shape(host.shape().begin(), host.shape().end());
  if (host.dtype() == DType::int32) {
    py::array_t<int32_t> array(shape);
    if (host.numel()) std::memcpy(array.mutable_data(), host.labels(), host.bytes());
    return array;
  }
  py::array_t<float> array(shape);
  if (host.numel()) std::memcpy(array.mutable_data(), host.data(), host.bytes());
  return array;
}

}  // namespace leap::python
