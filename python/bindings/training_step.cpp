// The PyTorch loop's pieces: the loss on a network's logits and labels, its backward(), and
// the optimizers' zero_grad() and step().
#include <pybind11/stl.h>

#include "bindings.h"
#include "leap/leap.h"
#include "numpy_arrays.h"
#include "network.h"

namespace leap::python {

void bind_training_step(py::module_& m) {
  py::class_<LossValue>(m, "LossValue", "A loss and its gradient; backward() runs the network's.")
      .def("item", &LossValue::item)
      .def("backward", [](LossValue& loss) {
        py::gil_scoped_release release;
        loss.backward();
      });

  m.def("cross_entropy", [](Sequential& network, const Tensor& logits, const Tensor& target) {
        if (target.dtype() != DType::int32 || target.rank() != 1 || logits.rank() != 2 ||
            target.dim(0) != logits.dim(0))
          throw py::value_error("target of shape " + to_string(target.shape()) + " for logits of shape " +
                                to_string(logits.shape()) + ": expected one integer label a row");
        const Tensor labels = target.to(logits.device());
        py::gil_scoped_release release;
        return CrossEntropyLoss()(network, logits, labels);
      }, py::arg("network"), py::arg("logits"), py::arg("target"), py::keep_alive<0, 1>());
  m.def("cross_entropy", [](Sequential& network, const Tensor& logits, const py::handle& target) {
        const Tensor labels = labels_from_numpy(target, logits.dim(0), int(logits.dim(1)), "target")
                                  .to(logits.device());
        py::gil_scoped_release release;
        return CrossEntropyLoss()(network, logits, labels);
      }, py::arg("network"), py::arg("logits"), py::arg("target"), py::keep_alive<0, 1>(),
      "torch.nn.CrossEntropyLoss (mean) of the network's logits and integer labels.");

  py::class_<Optimizer>(m, "Optimizer")
      .def("zero_grad", &Optimizer::zero_grad)
      .def("step", [](Optimizer& optimizer) {
        py::gil_scoped_release release;
        optimizer.step();
      })
      .def_property("lr", &Optimizer::lr, &Optimizer::set_lr)
      .def_property_readonly("steps", &Optimizer::steps)
      .def("__repr__", &Optimizer::describe);

  py::class_<Adam, Optimizer>(m, "Adam")
      .def(py::init([](std::vector<Parameter*> parameters, float lr, float beta1, float beta2,
                       float eps, float weight_decay) {
             return new Adam(std::move(parameters), {lr, beta1, beta2, eps, weight_decay});
           }), py::arg("parameters"), py::arg("lr") = 1e-3f, py::arg("beta1") = 0.9f,
           py::arg("beta2") = 0.999f, py::arg("eps") = 1e-8f, py::arg("weight_decay") = 0.0f,
           py::keep_alive<1, 2>());
  py::class_<SGD, Optimizer>(m, "SGD")
      .def(py::init([](std::vector<Parameter*> parameters, float lr, float momentum, float dampening,
                       float weight_decay, bool nesterov) {
             return new SGD(std::move(parameters), {lr, momentum, dampening, weight_decay, nesterov});
           }), py::arg("parameters"), py::arg("lr") = 1e-2f, py::arg("momentum") = 0.0f,
           py::arg("dampening") = 0.0f, py::arg("weight_decay") = 0.0f, py::arg("nesterov") = false,
           py::keep_alive<1, 2>());
}

}  // namespace leap::python
