// Keras' compile(optimizer=...): an optimizer by name ("adam", "sgd") with its settings (lr,
// beta1, beta2, eps, weight_decay; momentum, dampening, nesterov), as leap.optimizers gives them.
#pragma once

#include "bindings.h"
#include "leap/leap.h"

namespace leap::python {

inline OptimizerFactory optimizer_factory(const std::string& name, const py::dict& settings) {
  auto value = [&](const char* key, float fallback) {
    return settings.contains(key) ? settings[key].cast<float>() : fallback;
  };
  if (name == "adam")
    return adam({value("lr", 1e-3f), value("beta1", 0.9f), value("beta2", 0.999f), value("eps", 1e-8f),
                 value("weight_decay", 0.0f)});
  if (name == "sgd")
    return sgd({value("lr", 1e-2f), value("momentum", 0.0f), value("dampening", 0.0f),
                value("weight_decay", 0.0f),
                settings.contains("nesterov") && settings["nesterov"].cast<bool>()});
  throw py::value_error("optimizer must be 'adam' or 'sgd' (or leap.optimizers.Adam/SGD), got '" + name + "'");
}

}  // namespace leap::python
