// Keras' Distiller: a student trained on a frozen teacher's softened logits.
#include "bindings.h"
#include "fit_call.h"
#include "leap/leap.h"
#include "optimizer_factory.h"

namespace leap::python {

void bind_distill(py::module_& m) {
  py::class_<Distiller>(m, "Distiller")
      .def(py::init([](Model& teacher, Model& student, float temperature, float alpha) {
             if (!(temperature > 0)) throw py::value_error("temperature must be positive");
             if (!(alpha >= 0 && alpha <= 1)) throw py::value_error("alpha must lie in [0, 1]");
             return new Distiller(teacher.network(), student, {temperature, alpha});
           }), py::arg("teacher"), py::arg("student"), py::arg("temperature") = 2.0f,
           py::arg("alpha") = 0.5f, py::keep_alive<1, 2>(), py::keep_alive<1, 3>())
      .def("compile", [](Distiller& distiller, const std::string& optimizer, const py::dict& settings) {
             distiller.compile(optimizer_factory(optimizer, settings));
           }, py::arg("optimizer"), py::arg("settings"))
      .def("fit", [](Distiller& distiller, Model& student, const py::handle& x, const py::handle& y,
                     const py::dict& options, const py::object& validation_data, const py::list& callbacks) {
             return run_fit(student, [&distiller](const Dataset& train, const FitOptions& fit) {
               return distiller.fit(train, fit);
             }, x, y, options, validation_data, callbacks);
           }, py::arg("student"), py::arg("x"), py::arg("y"), py::arg("options"),
           py::arg("validation_data"), py::arg("callbacks"));
}

}  // namespace leap::python
