// Data parallel from Python: ranks as threads of this process (CPU, or a GPU each), or the
// processes of an MPI job (mpirun -np N python3 script.py). fit(..., communicator=...) then
// trains this rank's share of every batch, as `leap train` does.
#include "bindings.h"
#include "devices.h"
#include "leap/leap.h"

namespace leap::python {
namespace {

// Each rank calls fn(communicator) on its own thread, with the GIL only while Python runs
// (fit releases it); a Python error on a rank stops them all and is raised naming the rank.
// A handle: copies of the replica on other threads must not touch the reference count.
Replica python_replica(py::handle fn) {
  return [fn](Communicator& communicator) {
    py::gil_scoped_acquire acquire;
    try {
      fn(py::cast(&communicator, py::return_value_policy::reference));
    } catch (py::error_already_set& error) {
      throw Error("rank " + std::to_string(communicator.rank()) + ": " + error.what());
    }
  };
}

}  // namespace

void bind_distributed(py::module_& m) {
  py::class_<Communicator>(m, "Communicator", "This rank among the ranks that train one model.")
      .def_property_readonly("rank", &Communicator::rank)
      .def_property_readonly("ranks", &Communicator::ranks)
      .def_property_readonly("device", [](const Communicator& c) { return to_string(c.device()); })
      .def("__repr__", &Communicator::describe);
  m.def("run_on_threads", [](int ranks, const py::function& fn, double timeout) {
          if (ranks <= 0) throw py::value_error("ranks must be positive");
          Replica replica = python_replica(fn);
          py::gil_scoped_release release;
          run_on_threads(ranks, replica, timeout);
        }, py::arg("ranks"), py::arg("fn"), py::arg("timeout") = kDefaultCollectiveTimeout,
        "Calls fn(communicator) on `ranks` CPU threads, each a rank.");
  m.def("run_on_gpus", [](int gpus, const py::function& fn, double timeout) {
          if (gpus <= 0) throw py::value_error("gpus must be positive");
          Replica replica = python_replica(fn);
          py::gil_scoped_release release;
          run_on_gpus(gpus, replica, timeout);
        }, py::arg("gpus"), py::arg("fn"), py::arg("timeout") = kDefaultCollectiveTimeout,
        "Calls fn(communicator) on `gpus` threads, thread k on GPU k (NCCL).");
  m.def("launched_by_mpi", &launched_by_mpi);
  m.def("mpi_built", &mpi_built);
  m.def("nccl_built", &nccl_built);
  m.def("mpi_communicator", [](const std::string& device, double timeout) {
          const MpiJob& job = mpi_job();
          if (device != "cpu" && available(Device::cuda)) use_cuda_device(job.local_rank % cuda_device_count());
          return mpi_communicator(device_by_name(device), timeout);
        }, py::arg("device") = "auto", py::arg("timeout") = kDefaultCollectiveTimeout,
        "This process's rank in its MPI job (mpirun), on its own GPU when it has one.");
}

}  // namespace leap::python
