#include "devices.h"

#include "bindings.h"
#include "leap/leap.h"

namespace leap::python {

Device device_by_name(const std::string& name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  if (name == "auto") return available(Device::cuda) ? Device::cuda : Device::cpu;
  throw py::value_error("device must be 'cpu', 'cuda' or 'auto', got '" + name + "'");
}

void bind_devices(py::module_& m) {
  m.def("resolve_device", [](const std::string& name) { return to_string(device_by_name(name)); },
        py::arg("device"), "The device 'auto' means here ('cuda' when a GPU is usable).");
  m.def("cuda_available", [] { return available(Device::cuda); }, "True when a usable GPU exists.");
  m.def("cuda_device_count", &cuda_device_count);
  m.def("device_info", [](const std::string& name) {
    const Device device = device_by_name(name);
    const DeviceInfo info = backend(device).info();
    py::dict result;
    result["device"] = to_string(info.device);
    result["description"] = backend(device).describe();
    result["name"] = info.name;
    result["index"] = info.index;
    result["compute_units"] = info.compute_units;
    result["clock_mhz"] = info.clock_mhz;
    result["memory_bytes"] = info.memory_bytes;
    result["capability"] = info.capability;
    result["tensor_cores"] = info.tensor_cores;
    result["default_precision"] = to_string(backend(device).default_precision());
    return result;
  }, py::arg("device") = "auto", "What leap knows of a device, as a dict.");
  m.def("build_info", [] {
    const BuildInfo info = build_info();
    py::dict result;
    result["version"] = info.version;
    result["compiler"] = info.compiler;
    result["blas"] = info.blas;
    result["cuda"] = info.cuda;
    result["mpi"] = mpi_built();
    result["nccl"] = nccl_built();
    return result;
  }, "How this leap was built, as a dict.");
}

}  // namespace leap::python
