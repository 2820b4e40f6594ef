// One fit() from Python, for the Model and the Distiller alike: the options from keyword
// arguments, the data from numpy, the GIL released while the engine trains, Ctrl-C as a stop
// request at the next step boundary (KeyboardInterrupt, the model left usable).
#pragma once

#include <functional>
#include <vector>

#include "bindings.h"
#include "leap/leap.h"

namespace leap::python {

using Trainer = std::function<History(const Dataset& train, const FitOptions& options)>;

// `options`: the keyword arguments of leap's Python fit() that the engine takes (epochs,
// batch_size, shuffle, drop_last, seed, precision, fast_path, schedule, checkpoint_path,
// checkpoint_every, checkpoint_in_steps, checkpoint_at_end, resume_from, on_nan,
// communicator, handle_signals), validation_data an (x, y) pair or None.
History run_fit(Model& model, const Trainer& trainer, const py::handle& x, const py::handle& y,
                const py::dict& options, const py::object& validation_data, const py::list& callbacks);

// fit_many from Python: `models` trained at once over one copy of (x, y), each with its own
// options dict (fit()'s keyword arguments as above) and callbacks, all validated on the same
// validation_data; `workers` as SweepOptions::workers. The GIL is released while they train.
std::vector<History> run_fit_many(const std::vector<Model*>& models, const py::handle& x, const py::handle& y,
                                  const py::list& options, const py::object& validation_data,
                                  const py::list& callbacks, int workers);

}  // namespace leap::python
