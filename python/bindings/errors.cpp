// leap's exceptions in Python: leap.LeapError (a RuntimeError) for the library's errors,
// MemoryError for a device out of memory, KeyboardInterrupt for a stop request (Ctrl-C).
#include "leap/leap.h"

#include "bindings.h"

namespace leap::python {

void bind_errors(py::module_& m) {
  static py::exception<Error> leap_error(m, "LeapError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const Interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const Error& e) {
      leap_error(e.what());
    }
  });
}

}  // namespace leap::python
