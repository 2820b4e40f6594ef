// Callbacks across the language boundary: a Python object called at the run's and the
// epochs' ends (with the GIL taken for the call), and epoch figures as Python dicts.
#pragma once

#include <memory>
#include <vector>

#include "bindings.h"
#include "leap/leap.h"

namespace leap::python {

// Thrown through the engine when a Python callback raised: the Python exception travels
// with it (from whichever thread ran the callback) and is raised again once fit() returns to
// Python.
struct PythonRaised {
  std::shared_ptr<py::error_already_set> error;
};

// Calls `target`'s on_train_begin(), on_epoch_begin(epoch, epochs, steps),
// on_epoch_end(logs: dict) -> bool (True stops training) and on_train_end().
class PythonCallback : public Callback {
 public:
  explicit PythonCallback(py::object target) : target_(std::move(target)) {}
  ~PythonCallback() override;
  void on_train_begin() override;
  void on_epoch_begin(int epoch, int epochs, int64_t steps) override;
  bool on_epoch_end(const EpochLogs& logs) override;
  void on_train_end(const History& history) override;

 private:
  py::object target_;
};

// The callbacks fit() takes: leap's own (C++) as they are, any other object through a
// PythonCallback kept in `owned`.
std::vector<Callback*> engine_callbacks(const py::list& callbacks,
                                        std::vector<std::unique_ptr<Callback>>& owned);

// Keras' logs: loss, accuracy, val_loss and val_accuracy (when validated), and leap's
// seconds, us_per_step, steps, lr, samples, joules.
py::dict logs_to_dict(const EpochLogs& logs);
py::list history_to_list(const History& history);

}  // namespace leap::python
