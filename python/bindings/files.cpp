// Files: weights and any tensors in safetensors, ONNX export, the compute report and the
// HTML report of a fit.
#include <pybind11/stl.h>

#include "leap/leap.h"
#include "numpy_arrays.h"
#include "network.h"

namespace leap::python {
namespace {

using Metadata = std::map<std::string, std::string>;

void save_tensors(const std::string& path, const py::dict& tensors, const Metadata& metadata) {
  TensorMap map;
  for (const auto& [key, value] : tensors) {
    const std::string name = py::cast<std::string>(py::str(key));
    if (!py::isinstance<py::array>(value))
      throw py::type_error("tensors['" + name + "'] must be a numpy.ndarray");
    py::array array = py::reinterpret_borrow<py::array>(value);
    const Shape shape(array.shape(), array.shape() + array.ndim());
    if (array.dtype().kind() == 'i' || array.dtype().kind() == 'u') {
      py::array_t<int32_t, py::array::c_style | py::array::forcecast> ints(array);
      Tensor tensor(shape, DType::int32);
      std::copy(ints.data(), ints.data() + ints.size(), tensor.labels());
      map[name] = tensor;
    } else {
      map[name] = floats_from_numpy(value, shape, "tensors['" + name + "']");
    }
  }
  save_safetensors(path, map, metadata);
}

py::tuple load_tensors(const std::string& path) {
  Metadata metadata;
  const TensorMap map = load_safetensors(path, &metadata);
  py::dict tensors;
  for (const auto& [name, tensor] : map) tensors[py::str(name)] = to_numpy(tensor);
  return py::make_tuple(tensors, metadata);
}

void write_fit_report(const std::string& path, const std::string& title, const std::string& name,
                      Model& model, const History& history, int batch_size, const std::string& csv) {
  const Report report{title, {{name, csv.empty() ? history.epochs : read_metrics_csv(csv)}},
                      {compute_table(model, history, batch_size)}};
  write_report(path, report);
}

}  // namespace

void bind_files(py::module_& m) {
  m.def("save_weights", [](Sequential& network, const std::string& path, const Metadata& metadata) {
          save_weights(network, path, metadata);
        }, py::arg("network"), py::arg("path"),
        py::arg("metadata") = Metadata{},
        "The network's parameters as safetensors with PyTorch state_dict names (atomic).");
  m.def("load_weights", [](Sequential& network, const std::string& path) { load_weights(network, path); },
        py::arg("network"), py::arg("path"),
        "Every parameter from a safetensors file by name; a missing, extra or misshapen tensor is an error.");
  m.def("save_safetensors", &save_tensors, py::arg("path"), py::arg("tensors"),
        py::arg("metadata") = Metadata{}, "numpy arrays (float32, or integers as I32) to a safetensors file.");
  m.def("load_safetensors", &load_tensors, py::arg("path"),
        "A safetensors file as ({name: numpy array}, metadata).");
  m.def("inspect_safetensors", [](const std::string& path) {
          const SafetensorsHeader header = read_safetensors_header(path);
          py::list tensors;
          for (const SafetensorsEntry& entry : header.tensors)
            tensors.append(py::dict(py::arg("name") = entry.name, py::arg("dtype") = entry.dtype,
                                    py::arg("shape") = py::tuple(py::cast(entry.shape)),
                                    py::arg("bytes") = entry.end - entry.begin));
          return py::dict(py::arg("tensors") = tensors, py::arg("metadata") = header.metadata,
                          py::arg("file_bytes") = header.file_bytes);
        }, py::arg("path"), "What `leap inspect` shows: each tensor's name, dtype, shape and bytes, the metadata.");
  m.def("export_onnx", [](Sequential& network, const std::string& path, const std::string& doc) {
          export_onnx(network, path, {.doc = doc});
        }, py::arg("network"), py::arg("path"), py::arg("doc") = "",
        "ONNX (opset 13): a Gemm per Linear, a Relu per ReLU; input 'input', output 'logits'.");
  m.def("onnx_bytes", [](Sequential& network) { return py::bytes(onnx_model_bytes(network)); },
        py::arg("network"));
  m.def("compute_report_json", [](Model& model, const History& history, int batch_size) {
          return to_json(compute_report(model, history, batch_size));
        }, py::arg("model"), py::arg("history"), py::arg("batch_size"));
  m.def("describe_compute_report", [](Model& model, const History& history, int batch_size) {
          return describe(compute_report(model, history, batch_size));
        }, py::arg("model"), py::arg("history"), py::arg("batch_size"));
  m.def("write_fit_report", &write_fit_report, py::arg("path"), py::arg("title"), py::arg("name"),
        py::arg("model"), py::arg("history"), py::arg("batch_size"), py::arg("csv") = "",
        "report.html of a fit: its curves (from its metrics.csv when given) and compute table.");
}

}  // namespace leap::python
