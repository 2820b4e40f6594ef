// The network as PyTorch's nn.Sequential: forward on numpy batches, parameters for an
// optimizer, state_dict() and load_state_dict() with PyTorch's names.
#include "network.h"

#include <pybind11/stl.h>

#include "devices.h"
#include "leap/leap.h"
#include "numpy_arrays.h"

namespace leap::python {

Sequential network_from_layers(const py::list& layers, uint64_t seed, Device device) {
  Random random(seed);
  Sequential network;
  for (const py::handle& item : layers) {
    const py::tuple layer = py::cast<py::tuple>(item);
    const std::string kind = py::cast<std::string>(layer[0]);
    if (kind == "linear") {
      const int in = py::cast<int>(layer[1]), out = py::cast<int>(layer[2]);
      if (in <= 0 || out <= 0)
        throw py::value_error("Linear(" + std::to_string(in) + ", " + std::to_string(out) +
                              "): widths must be positive");
      network.emplace<Linear>(in, out, random, device);
    } else if (kind == "relu") {
      network.emplace<ReLU>();
    } else if (kind == "dropout") {
      const float p = py::cast<float>(layer[1]);
      if (!(p >= 0.0f && p < 1.0f)) throw py::value_error("Dropout(p): p must lie in [0, 1), got " + std::to_string(p));
      network.emplace<Dropout>(p, random.next_u64());
    } else {
      throw py::value_error("unknown layer '" + kind + "' (leap has linear, relu, dropout)");
    }
  }
  if (network.size() == 0 || network.input_width() == 0)
    throw py::value_error("a network needs at least one Linear layer");
  network.to(device);  // records the device (the layers are already there)
  return network;
}

namespace {

py::dict state_dict(Sequential& network) {
  py::dict state;  // insertion-ordered, as PyTorch's OrderedDict
  for (Parameter* p : network.parameters()) state[py::str(p->name)] = to_numpy(p->value);
  return state;
}

// PyTorch's strict load: every name present, none extra, every shape the same.
void load_state_dict(Sequential& network, const py::dict& state) {
  std::vector<std::string> missing, unexpected;
  std::vector<Parameter*> parameters = network.parameters();
  for (Parameter* p : parameters)
    if (!state.contains(py::str(p->name))) missing.push_back(p->name);
  for (const auto& [key, value] : state) {
    const std::string name = py::cast<std::string>(py::str(key));
    bool known = false;
    for (Parameter* p : parameters) known |= p->name == name;
    if (!known) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty()) {
    std::string message = "load_state_dict: ";
    if (!missing.empty()) message += "missing keys " + py::cast<std::string>(py::repr(py::cast(missing)));
    if (!unexpected.empty())
      message += std::string(missing.empty() ? "" : "; ") + "unexpected keys " +
                 py::cast<std::string>(py::repr(py::cast(unexpected)));
    throw py::key_error(message);
  }
  // Every value is checked before any is copied, so a bad one leaves the network as it was.
  std::vector<Tensor> values;
  for (Parameter* p : parameters)
    values.push_back(floats_from_numpy(state[py::str(p->name)], p->value.shape(), "state_dict['" + p->name + "']"));
  for (size_t i = 0; i < parameters.size(); ++i) parameters[i]->value.copy_from(values[i]);
}

}  // namespace

void bind_network(py::module_& m) {
  py::class_<Tensor>(m, "Tensor", "A tensor of the engine (on its device); numpy() copies it out.")
      .def("numpy", &to_numpy, "A copy as a numpy array.")
      .def_property_readonly("shape", [](const Tensor& t) { return py::tuple(py::cast(t.shape())); })
      .def_property_readonly("device", [](const Tensor& t) { return to_string(t.device()); });

  py::class_<Parameter>(m, "Parameter", "A trainable tensor of a network, named as in PyTorch.")
      .def_readonly("name", &Parameter::name)
      .def_property_readonly("shape", [](const Parameter& p) { return py::tuple(py::cast(p.value.shape())); })
      .def_property_readonly("data", [](const Parameter& p) { return to_numpy(p.value); },
                             "A copy of the values.")
      .def_property_readonly("grad", [](const Parameter& p) -> py::object {
        if (!p.has_grad) return py::none();
        return to_numpy(p.grad);
      }, "A copy of the gradient, or None before backward().")
      .def("numel", [](const Parameter& p) { return p.value.numel(); });

  py::class_<Sequential>(m, "Network", "Layers run in order, as torch.nn.Sequential.")
      .def(py::init([](const py::list& layers, uint64_t seed, const std::string& device) {
             return network_from_layers(layers, seed, device_by_name(device));
           }), py::arg("layers"), py::arg("seed") = 0, py::arg("device") = "cpu")
      .def_static("from_spec", [](const std::string& spec, uint64_t seed, const std::string& device, float dropout) {
             return Sequential::from_spec(spec, seed, device_by_name(device), dropout);
           }, py::arg("spec"), py::arg("seed") = 0, py::arg("device") = "cpu", py::arg("dropout") = 0.0f)
      .def("forward", [](Sequential& network, const Tensor& input) {
             if (input.rank() != 2 || input.dim(1) != network.input_width() || input.dtype() != DType::float32)
               throw py::value_error("input of shape " + to_string(input.shape()) + " for a network of " +
                                     std::to_string(network.input_width()) + " inputs");
             const Tensor local = input.to(network.device());
             py::gil_scoped_release release;
             return network.forward(local);
           }, py::arg("input"))
      .def("forward", [](Sequential& network, const py::handle& x) {
             Tensor input = samples_from_numpy(x, network.input_width(), "input").to(network.device());
             py::gil_scoped_release release;
             return network.forward(input);
           }, py::arg("input"), "Logits for a batch of samples (numpy, float32 or uint8).")
      .def("parameters", &Sequential::parameters, py::return_value_policy::reference_internal)
      .def("state_dict", &state_dict)
      .def("load_state_dict", &load_state_dict, py::arg("state_dict"))
      .def("zero_grad", &Sequential::zero_grad)
      .def("train", [](Sequential& n, bool on) { n.train(on); }, py::arg("mode") = true)
      .def("eval", [](Sequential& n) { n.eval(); })
      .def_property_readonly("training", &Sequential::training)
      .def("to", [](Sequential& n, const std::string& device) { n.to(device_by_name(device)); }, py::arg("device"))
      .def_property_readonly("device", [](const Sequential& n) { return to_string(n.device()); })
      .def_property_readonly("input_width", &Sequential::input_width)
      .def_property_readonly("output_width", &Sequential::output_width)
      .def("parameter_count", &Sequential::parameter_count)
      .def("__len__", &Sequential::size)
      .def("__repr__", &Sequential::describe);
}

}  // namespace leap::python
