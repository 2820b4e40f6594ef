// leap._core: the engine as Python sees it. The package leap (python/leap/) gives it the
// Keras and PyTorch shapes; all the logic stays in the C++ library.
#include "bindings.h"

PYBIND11_MODULE(_core, m) {
  using namespace leap::python;
  m.doc() = "leap's engine (the extension module under the leap package)";
  bind_errors(m);
  bind_devices(m);
  bind_network(m);
  bind_data_loader(m);
  bind_training_step(m);
  bind_callbacks(m);
  bind_model(m);
  bind_distill(m);
  bind_files(m);
  bind_distributed(m);
}
