// Keras' callbacks from the C++ library (EarlyStopping, ModelCheckpoint, CSVLogger,
// ReduceLROnPlateau, TerminateOnNaN, the progress line), and Python's own.
#include "callbacks.h"

#include <cmath>

#include "leap/leap.h"
#include "progress.h"
#include "network.h"

namespace leap::python {
namespace {

// Calls a method of the target with the GIL and says whether it returned a true value; a
// Python exception stops training.
template <class... Args>
bool call(const py::object& target, const char* method, Args&&... args) {
  py::gil_scoped_acquire acquire;
  try {
    return py::bool_(target.attr(method)(std::forward<Args>(args)...));
  } catch (py::error_already_set& error) {
    throw PythonRaised{std::make_shared<py::error_already_set>(std::move(error))};
  }
}

}  // namespace

PythonCallback::~PythonCallback() {
  py::gil_scoped_acquire acquire;
  target_ = py::object();
}

void PythonCallback::on_train_begin() { call(target_, "on_train_begin"); }

void PythonCallback::on_epoch_begin(int epoch, int epochs, int64_t steps) {
  call(target_, "on_epoch_begin", epoch, epochs, steps);
}

bool PythonCallback::on_epoch_end(const EpochLogs& logs) {
  py::gil_scoped_acquire acquire;
  return call(target_, "on_epoch_end", logs_to_dict(logs));
}

void PythonCallback::on_train_end(const History&) { call(target_, "on_train_end"); }

std::vector<Callback*> engine_callbacks(const py::list& callbacks,
                                        std::vector<std::unique_ptr<Callback>>& owned) {
  std::vector<Callback*> result;
  for (const py::handle& item : callbacks) {
    if (py::isinstance<Callback>(item)) {
      result.push_back(item.cast<Callback*>());
    } else {
      owned.push_back(std::make_unique<PythonCallback>(py::reinterpret_borrow<py::object>(item)));
      result.push_back(owned.back().get());
    }
  }
  return result;
}

py::dict logs_to_dict(const EpochLogs& logs) {
  py::dict result;
  result["epoch"] = logs.epoch;
  result["loss"] = logs.loss;
  result["accuracy"] = logs.accuracy;
  if (!std::isnan(logs.val_loss)) {
    result["val_loss"] = logs.val_loss;
    result["val_accuracy"] = logs.val_accuracy;
  }
  result["seconds"] = logs.seconds;
  result["us_per_step"] = logs.us_per_step;
  result["steps"] = logs.steps;
  result["lr"] = logs.lr;
  result["samples"] = logs.samples;
  if (!std::isnan(logs.joules)) result["joules"] = logs.joules;
  return result;
}

py::list history_to_list(const History& history) {
  py::list epochs;
  for (const EpochLogs& logs : history.epochs) epochs.append(logs_to_dict(logs));
  return epochs;
}

void bind_callbacks(py::module_& m) {
  py::class_<Callback>(m, "EngineCallback", "A callback of leap's C++ library.");
  py::class_<cli::KerasProgress, Callback>(m, "ProgressLine",
                                           "Keras' progress bar and one line an epoch (verbose).")
      .def(py::init<>());
  py::class_<EarlyStopping, Callback>(m, "EarlyStopping")
      .def(py::init<std::string, int, double>(), py::arg("monitor") = "val_loss",
           py::arg("patience") = 0, py::arg("min_delta") = 0.0);
  py::class_<ModelCheckpoint, Callback>(m, "ModelCheckpoint")
      .def(py::init([](Sequential& network, std::string filepath, std::string monitor,
                       bool save_best_only, std::string mode, bool verbose) {
             return new ModelCheckpoint(network, std::move(filepath),
                                        {std::move(monitor), save_best_only, std::move(mode), verbose});
           }), py::arg("network"), py::arg("filepath"), py::arg("monitor") = "val_loss",
           py::arg("save_best_only") = false, py::arg("mode") = "auto", py::arg("verbose") = false,
           py::keep_alive<1, 2>())
      .def_property_readonly("best", &ModelCheckpoint::best)
      .def_property_readonly("last_saved", &ModelCheckpoint::last_saved);
  py::class_<CSVLogger, Callback>(m, "CSVLogger")
      .def(py::init<const std::string&, char, bool>(), py::arg("filename"),
           py::arg("separator") = ',', py::arg("append") = false);
  py::class_<JsonlLogger, Callback>(m, "JsonlLogger")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def("write_line", &JsonlLogger::write_line, py::arg("json_object"));
  py::class_<ReduceLROnPlateau, Callback>(m, "ReduceLROnPlateau")
      .def(py::init([](Optimizer& optimizer, std::string monitor, double factor, int patience,
                       std::string mode, double min_delta, int cooldown, double min_lr, bool verbose) {
             return new ReduceLROnPlateau(optimizer, {std::move(monitor), factor, patience, std::move(mode),
                                                      min_delta, cooldown, min_lr, verbose});
           }), py::arg("optimizer"), py::arg("monitor") = "val_loss", py::arg("factor") = 0.1,
           py::arg("patience") = 10, py::arg("mode") = "auto", py::arg("min_delta") = 1e-4,
           py::arg("cooldown") = 0, py::arg("min_lr") = 0.0, py::arg("verbose") = false,
           py::keep_alive<1, 2>());
  py::class_<TerminateOnNaN, Callback>(m, "TerminateOnNaN")
      .def(py::init<>())
      .def_property_readonly("stopped_epoch", &TerminateOnNaN::stopped_epoch);
}

}  // namespace leap::python
