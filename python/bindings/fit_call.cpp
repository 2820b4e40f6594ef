#include "fit_call.h"

#include <algorithm>
#include <csignal>

#include "callbacks.h"
#include "leap/leap.h"
#include "numpy_arrays.h"

namespace leap::python {
namespace {

// While the engine trains, SIGINT and SIGTERM ask it to stop after the current step;
// Python's own handlers come back afterwards (remove_stop_handlers would leave the default).
class StopSignalsWhileTraining {
 public:
  explicit StopSignalsWhileTraining(bool on) : on_(on) {
    clear_stop_request();
    if (!on_) return;
    sigaction(SIGINT, nullptr, &saved_int_);
    sigaction(SIGTERM, nullptr, &saved_term_);
    install_stop_handlers();
  }
  ~StopSignalsWhileTraining() {
    if (on_) {
      sigaction(SIGINT, &saved_int_, nullptr);
      sigaction(SIGTERM, &saved_term_, nullptr);
    }
    clear_stop_request();
  }
  StopSignalsWhileTraining(const StopSignalsWhileTraining&) = delete;
  StopSignalsWhileTraining& operator=(const StopSignalsWhileTraining&) = delete;

 private:
  bool on_;
  struct sigaction saved_int_ {}, saved_term_ {};
};

template <class T>
T get(const py::dict& options, const char* key, T fallback) {
  return options.contains(key) && !options[key].is_none() ? options[key].cast<T>() : fallback;
}

FitOptions fit_options(const py::dict& o) {
  FitOptions fit;
  fit.epochs = get(o, "epochs", 1);
  fit.batch_size = get(o, "batch_size", 32);
  if (fit.epochs <= 0) throw py::value_error("epochs must be positive, got " + std::to_string(fit.epochs));
  if (fit.batch_size <= 0)
    throw py::value_error("batch_size must be positive, got " + std::to_string(fit.batch_size));
  fit.shuffle = get(o, "shuffle", true);
  fit.drop_last = get(o, "drop_last", false);
  fit.seed = get<uint64_t>(o, "seed", 0);
  fit.fast_path = get(o, "fast_path", true);
  const std::string precision = get<std::string>(o, "precision", "auto");
  if (precision != "auto") {
    try {
      fit.precision = parse_precision(precision);
    } catch (const Error& e) {
      throw py::value_error(std::string("precision: ") + e.what());
    }
  }
  const std::string schedule = get<std::string>(o, "schedule", "none");
  if (schedule != "none") fit.schedule = schedule_by_name(schedule, fit.epochs);
  fit.checkpoint_path = get<std::string>(o, "checkpoint_path", "");
  fit.checkpoint_every = get<int64_t>(o, "checkpoint_every", 0);
  fit.checkpoint_in_steps = get(o, "checkpoint_in_steps", false);
  fit.checkpoint_at_end = get(o, "checkpoint_at_end", false);
  fit.resume_from = get<std::string>(o, "resume_from", "");
  const std::string on_nan = get<std::string>(o, "on_nan", "stop");
  if (on_nan != "stop" && on_nan != "skip")
    throw py::value_error("on_nan must be 'stop' or 'skip', got '" + on_nan + "'");
  fit.on_nan = on_nan == "skip" ? NanPolicy::skip : NanPolicy::stop;
  if (o.contains("communicator") && !o["communicator"].is_none())
    fit.communicator = o["communicator"].cast<Communicator*>();
  return fit;
}

// The (x_val, y_val) pair of validation_data as a Dataset for models of these widths.
Dataset validation_from(const py::object& validation_data, int64_t inputs, int classes) {
  if (!py::isinstance<py::tuple>(validation_data) && !py::isinstance<py::list>(validation_data))
    throw py::type_error("validation_data must be a tuple (x_val, y_val)");
  const py::sequence pair = validation_data;
  if (pair.size() != 2) throw py::value_error("validation_data must be a pair (x_val, y_val)");
  return dataset_from_numpy(pair[0], pair[1], inputs, classes, "validation_data[0]", "validation_data[1]");
}

}  // namespace

History run_fit(Model& model, const Trainer& trainer, const py::handle& x, const py::handle& y,
                const py::dict& options, const py::object& validation_data, const py::list& callbacks) {
  FitOptions fit = fit_options(options);
  Sequential& network = model.network();
  const Dataset train = dataset_from_numpy(x, y, network.input_width(), network.output_width(), "x", "y");
  Dataset validation;
  if (!validation_data.is_none()) {
    validation = validation_from(validation_data, network.input_width(), network.output_width());
    fit.validation_data = &validation;
  }
  std::vector<std::unique_ptr<Callback>> owned;
  fit.callbacks = engine_callbacks(callbacks, owned);
  History history;
  try {
    StopSignalsWhileTraining signals(get(options, "handle_signals", false));
    py::gil_scoped_release release;
    history = trainer(train, fit);
  } catch (const PythonRaised& raised) {
    throw *raised.error;
  }
  return history;
}

std::vector<History> run_fit_many(const std::vector<Model*>& models, const py::handle& x, const py::handle& y,
                                  const py::list& options, const py::object& validation_data,
                                  const py::list& callbacks, int workers) {
  if (models.empty()) throw py::value_error("models is empty: give at least one model");
  if (options.size() != models.size() || callbacks.size() != models.size())
    throw py::value_error("one options dict and one callback list a model");
  if (workers < 0) throw py::value_error("workers must not be negative, got " + std::to_string(workers));
  // The data as models[0] reads it, labels below the fewest classes; fit_many checks it
  // against every model.
  const int64_t inputs = models[0]->network().input_width();
  int classes = models[0]->network().output_width();
  for (Model* model : models) classes = std::min(classes, model->network().output_width());
  const Dataset train = dataset_from_numpy(x, y, inputs, classes, "x", "y");
  Dataset validation;
  if (!validation_data.is_none()) validation = validation_from(validation_data, inputs, classes);
  std::vector<SweepMember> members;
  std::vector<std::vector<std::unique_ptr<Callback>>> owned(models.size());
  for (size_t i = 0; i < models.size(); ++i) {
    FitOptions fit = fit_options(options[i].cast<py::dict>());
    if (fit.communicator) throw py::value_error("fit_many trains each model alone: no communicator");
    if (!validation_data.is_none()) fit.validation_data = &validation;
    fit.callbacks = engine_callbacks(callbacks[i].cast<py::list>(), owned[i]);
    members.push_back({models[i], nullptr, std::move(fit)});
  }
  std::vector<History> histories;
  try {
    StopSignalsWhileTraining signals(get(options[0].cast<py::dict>(), "handle_signals", false));
    py::gil_scoped_release release;
    SweepOptions sweep;
    sweep.workers = workers;
    histories = fit_many(members, train, sweep);
  } catch (const PythonRaised& raised) {
    throw *raised.error;
  }
  return histories;
}

}  // namespace leap::python
