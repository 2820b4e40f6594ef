// A Sequential network from Python's description of its layers.
#pragma once

#include <pybind11/pybind11.h>

#include "leap/leap.h"

namespace leap::python {

namespace py = pybind11;

// `layers`: tuples ("linear", in, out), ("relu",), ("dropout", p), in order. One generator
// seeded with `seed` draws the Linear layers' weights in order and then each Dropout's seed,
// as Sequential::from_spec does, so "784-128-10" and its layers give the same weights.
Sequential network_from_layers(const py::list& layers, uint64_t seed, Device device);

}  // namespace leap::python

// A Sequential owns its layers: moved, never copied (std::vector of unique_ptr looks copyable
// to pybind11's trait).
template <>
struct pybind11::detail::is_copy_constructible<leap::Sequential> : std::false_type {};
