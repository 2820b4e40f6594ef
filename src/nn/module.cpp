#include "leap/module.h"

namespace leap {

void Module::zero_grad() {
  for (Parameter* p : parameters()) p->has_grad = false;
}

int64_t Module::parameter_count() {
  int64_t total = 0;
  for (Parameter* p : parameters()) total += p->value.numel();
  return total;
}

}  // namespace leap
