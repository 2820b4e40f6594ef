// The pieces of the extension module leap._core, one concept a file; module.cpp calls them.
#pragma once

#include <pybind11/pybind11.h>

namespace leap::python {

namespace py = pybind11;

void bind_errors(py::module_& m);       // errors.cpp: leap::Error and friends as Python exceptions
void bind_network(py::module_& m);      // network.cpp: Sequential, parameters, state_dict
void bind_data_loader(py::module_& m);   // data_loader.cpp: batches in leap's order
void bind_training_step(py::module_& m);  // training_step.cpp: loss, optimizers (the PyTorch loop)
void bind_callbacks(py::module_& m);    // callbacks.cpp: Keras' callbacks, Python ones too
void bind_model(py::module_& m);        // model.cpp: compile, fit, evaluate, predict
void bind_distill(py::module_& m);      // distill.cpp: Distiller
void bind_files(py::module_& m);        // files.cpp: safetensors, ONNX, reports
void bind_devices(py::module_& m);      // devices.cpp: devices, precision, build
void bind_distributed(py::module_& m);  // distributed.cpp: communicators, ranks

}  // namespace leap::python
