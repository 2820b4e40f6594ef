// One fit() from Python, for the Model and the Distiller alike: the options from keyword
// arguments, the data from numpy, the GIL released while the engine trains, Ctrl-C as a stop
// request at the next step boundary (KeyboardInterrupt, the model left usable).
#pragma once

#include <functional>

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

}  // namespace leap::python
