// PyTorch's DataLoader over numpy arrays: the engine's own batches, in the order `leap train`
// draws for the same seed, handed out as engine tensors (no copy through numpy).
#include "bindings.h"
#include "devices.h"
#include "leap/leap.h"
#include "numpy_arrays.h"

namespace leap::python {
namespace {

// The loader and the epoch it is in, for Python's iteration protocol.
struct EpochLoader {
  DataLoader loader;
  int epoch = -1;
};

}  // namespace

void bind_data_loader(py::module_& m) {
  py::class_<EpochLoader>(m, "DataLoader")
      .def(py::init([](const py::handle& x, const py::handle& y, int batch_size, bool shuffle,
                       bool drop_last, uint64_t seed, int classes, const std::string& device) {
             if (batch_size <= 0) throw py::value_error("batch_size must be positive");
             if (classes <= 0) throw py::value_error("classes must be positive");
             Dataset data;
             data.images = samples_from_numpy(x, 0, "x");
             data.labels = labels_from_numpy(y, data.size(), classes, "y");
             data.classes = classes;
             return new EpochLoader{DataLoader(data.to(device_by_name(device)),
                                               {batch_size, shuffle, drop_last, seed})};
           }), py::arg("x"), py::arg("y"), py::arg("batch_size") = 64, py::arg("shuffle") = true,
           py::arg("drop_last") = false, py::arg("seed") = 0, py::arg("classes") = 10,
           py::arg("device") = "cpu")
      .def("start_epoch", [](EpochLoader& l, int epoch) {
             l.epoch = epoch;
             l.loader.start_epoch(epoch);
           }, py::arg("epoch"))
      .def("next", [](EpochLoader& l) -> py::object {
             if (l.epoch < 0) throw py::value_error("start_epoch() before next()");
             Tensor images, labels;
             if (!l.loader.next(images, labels)) return py::none();
             return py::make_tuple(images, labels);
           }, "The next (images, labels) of the epoch as engine tensors, or None at its end.")
      .def("__len__", [](const EpochLoader& l) { return l.loader.batches_per_epoch(); });
}

}  // namespace leap::python
