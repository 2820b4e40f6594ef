#include "leap/predictor.h"
#include <optional>

#include "leap/error.h"
#include "leap/linear.h"
#include "leap/relu.h"

namespace leap {

// The network as a plan of Linear layers with ReLU between them, or null for other layers.
static std::optional<InferencePlan> describe_inference(Sequential& network, int batch) {
  InferencePlan plan{{}, batch};
  for (size_t i = 0; i < network.size(); ++i) {
    if (dynamic_cast<ReLU*>(&network[i]) && !plan.layers.empty()) {
      plan.layers.back().relu = true;
    } else if (auto* linear = dynamic_cast<Linear*>(&network[i])) {
      plan.layers.push_back({linear->weight().value.data(), linear->bias().value.data(), nullptr,
                             nullptr, nullptr, nullptr, nullptr, nullptr, linear->in_features(),
                             linear->out_features(), false});
    } else {
      return std::nullopt;
    }
  }
  return plan;
}

Predictor::Predictor(Sequential& network, int batch_size)
    : network_(network), batch_(batch_size),
      inputs_({batch_size, network.input_width()}, DType::float32, network.device()) {
  check(batch_size > 0, "Predictor: batch size must be positive");
  network_.eval();
  if (std::optional<InferencePlan> plan = describe_inference(network_, batch_))
    runner_ = backend(network_.device()).plan_inference(*plan);
}

void Predictor::predict(const float* inputs, float* logits) {
  if (runner_) return runner_->run(inputs, logits);
  Backend& engine = backend(network_.device());
  engine.copy_from_host(inputs_.data(), inputs, inputs_.bytes());
  network_.eval();
  const Tensor output = network_.forward(inputs_);
  engine.copy_to_host(logits, output.data(), output.bytes());
}

std::string Predictor::describe() const {
  return runner_ ? runner_->describe() : "layer by layer on " + to_string(network_.device());
}

}  // namespace leap
