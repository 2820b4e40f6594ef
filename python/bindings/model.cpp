// Keras' Model over the engine: compile, fit (the same Model::fit as `leap train`, so the
// backends' fast paths run), evaluate, predict.
#include <pybind11/stl.h>

#include "callbacks.h"
#include "devices.h"
#include "fit_call.h"
#include "leap/leap.h"
#include "network.h"
#include "numpy_arrays.h"
#include "optimizer_factory.h"

namespace leap::python {
namespace {

void compile(Model& model, const std::string& optimizer, const py::dict& settings,
             const std::vector<std::string>& metrics) {
  for (const std::string& metric : metrics)
    if (metric != "accuracy")
      throw py::value_error("unknown metric '" + metric + "' (leap knows 'accuracy')");
  model.compile(optimizer_factory(optimizer, settings), CrossEntropyLoss(), metrics);
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<History>(m, "History", "What a fit() recorded, epoch by epoch.")
      .def("epochs", &history_to_list, "One dict of figures an epoch.")
      .def("__len__", [](const History& h) { return h.epochs.size(); });

  py::class_<Model>(m, "Model", "Keras' Model over a Sequential network.")
      .def(py::init([](const py::list& layers, uint64_t seed, const std::string& device) {
             return new Model(network_from_layers(layers, seed, device_by_name(device)));
           }), py::arg("layers"), py::arg("seed") = 0, py::arg("device") = "cpu")
      .def_static("from_spec", [](const std::string& spec, uint64_t seed, const std::string& device, float dropout) {
             return new Model(Sequential::from_spec(spec, seed, device_by_name(device), dropout));
           }, py::arg("spec"), py::arg("seed") = 0, py::arg("device") = "cpu", py::arg("dropout") = 0.0f)
      .def("compile", &compile, py::arg("optimizer"), py::arg("settings"), py::arg("metrics"))
      .def("fit", [](Model& model, const py::handle& x, const py::handle& y, const py::dict& options,
                     const py::object& validation_data, const py::list& callbacks) {
             return run_fit(model, [&model](const Dataset& train, const FitOptions& fit) {
               return model.fit(train, fit);
             }, x, y, options, validation_data, callbacks);
           }, py::arg("x"), py::arg("y"), py::arg("options"), py::arg("validation_data"),
           py::arg("callbacks"))
      .def("evaluate", [](Model& model, const py::handle& x, const py::handle& y, int batch_size,
                          const py::object& communicator) {
             const Sequential& network = model.network();
             const Dataset data = dataset_from_numpy(x, y, network.input_width(), network.output_width(), "x", "y");
             if (batch_size <= 0) throw py::value_error("batch_size must be positive");
             Communicator* ranks = communicator.is_none() ? nullptr : communicator.cast<Communicator*>();
             py::gil_scoped_release release;
             const Evaluation result = model.evaluate(data, batch_size, ranks);
             return std::make_pair(result.loss, result.accuracy);
           }, py::arg("x"), py::arg("y"), py::arg("batch_size") = 1024, py::arg("communicator") = py::none())
      .def("predict", [](Model& model, const py::handle& x, int batch_size) {
             const Tensor images = samples_from_numpy(x, model.network().input_width(), "x");
             if (batch_size <= 0) throw py::value_error("batch_size must be positive");
             Tensor logits;
             {
               py::gil_scoped_release release;
               logits = model.predict(images, batch_size);
             }
             return to_numpy(logits);
           }, py::arg("x"), py::arg("batch_size") = 1024)
      .def_property_readonly("network", &Model::network, py::return_value_policy::reference_internal)
      .def_property_readonly("optimizer", &Model::optimizer, py::return_value_policy::reference_internal)
      .def_property_readonly("compiled", [](Model& model) {
             try {
               model.optimizer();
               return true;
             } catch (const Error&) {
               return false;
             }
           })
      .def_property_readonly("training_path", &Model::training_path)
      .def_property_readonly("precision", [](const Model& model) { return to_string(model.precision()); })
      .def_property_readonly("device", [](const Model& model) { return to_string(model.device()); })
      .def_property_readonly("energy_source", &Model::energy_source);
  m.def("fit_many", &run_fit_many, py::arg("models"), py::arg("x"), py::arg("y"), py::arg("options"),
        py::arg("validation_data"), py::arg("callbacks"), py::arg("workers") = 0,
        "Trains the models at once over one copy of (x, y) (leap::fit_many): on the CPU a core a "
        "model, on a GPU the persistent kernel's steps of all of them in one launch. One options "
        "dict and one callback list a model; returns their Histories in order.");
}

}  // namespace leap::python
