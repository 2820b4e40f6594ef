#include "leap/sequential.h"

#include <charconv>

#include "leap/error.h"
#include "leap/linear.h"
#include "leap/relu.h"
#include "leap/dropout.h"

namespace leap {

std::vector<int> parse_spec(const std::string& spec) {
  std::vector<int> widths;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find('-', start);
    if (end == std::string::npos) end = spec.size();
    int width = 0;
    const char* first = spec.data() + start;
    const char* last = spec.data() + end;
    auto [stop, status] = std::from_chars(first, last, width);
    check(first != last && status == std::errc() && stop == last && width > 0 && width <= 1 << 20,
          "model spec '" + spec + "': '" + std::string(first, last) +
              "' is not a layer width (expected positive integers joined by '-', e.g. 784-128-10)");
    widths.push_back(width);
    start = end + 1;
  }
  check(widths.size() >= 2, "model spec '" + spec + "' needs at least an input and an output width");
  return widths;
}

Sequential Sequential::from_spec(const std::string& spec, uint64_t seed, Device device,
                                 float dropout) {
  std::vector<int> widths = parse_spec(spec);
  Random random(seed);
  Sequential model;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    model.emplace<Linear>(widths[i], widths[i + 1], random, device);
    if (i + 2 == widths.size()) break;
    model.emplace<ReLU>();
    if (dropout > 0.0f) model.emplace<Dropout>(dropout, random.next_u64());
  }
  model.device_ = device;
  return model;
}

Sequential& Sequential::add(std::unique_ptr<Module> layer) {
  const std::string prefix = std::to_string(layers_.size()) + ".";
  for (Parameter* p : layer->parameters()) p->name = prefix + p->name;
  layer->train(training_);
  layers_.push_back(std::move(layer));
  refresh_fusion();
  return *this;
}

// A ReLU right after a Linear is folded into the Linear's forward product.
void Sequential::refresh_fusion() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* relu = dynamic_cast<ReLU*>(layers_[i].get());
    auto* linear = i > 0 ? dynamic_cast<Linear*>(layers_[i - 1].get()) : nullptr;
    if (relu) relu->set_fused(linear != nullptr);
    if (auto* self = dynamic_cast<Linear*>(layers_[i].get()))
      self->fuse_relu(i + 1 < layers_.size() && dynamic_cast<ReLU*>(layers_[i + 1].get()));
  }
}

Tensor Sequential::forward(const Tensor& input) {
  check(!layers_.empty(), "Sequential.forward on an empty model");
  Tensor x = input;
  for (auto& layer : layers_) {
    layer->train(training_);
    x = layer->forward(x);
  }
  return x;
}

// need_input_grad defaults to false here: the model's input is data, not a parameter.
Tensor Sequential::backward(const Tensor& grad_output, bool need_input_grad) {
  Tensor grad = grad_output;
  for (size_t i = layers_.size(); i-- > 0;) grad = layers_[i]->backward(grad, i > 0 || need_input_grad);
  return grad;
}

void Sequential::backward(const Tensor& grad_output,
                          const std::function<void(Module&)>& gradients_ready) {
  Tensor grad = grad_output;
  for (size_t i = layers_.size(); i-- > 0;) {
    grad = layers_[i]->backward(grad, i > 0);
    if (!layers_[i]->parameters().empty()) gradients_ready(*layers_[i]);
  }
}

std::vector<Parameter*> Sequential::parameters() {
  std::vector<Parameter*> all;
  for (auto& layer : layers_)
    for (Parameter* p : layer->parameters()) all.push_back(p);
  return all;
}

std::string Sequential::describe() const {
  std::string text = "Sequential(\n";
  for (size_t i = 0; i < layers_.size(); ++i)
    text += "  (" + std::to_string(i) + "): " + layers_[i]->describe() + "\n";
  return text + ")";
}

void Sequential::to(Device device) {
  for (auto& layer : layers_) layer->to(device);
  device_ = device;
}

int Sequential::input_width() const {
  for (auto& layer : layers_)
    if (auto* linear = dynamic_cast<const Linear*>(layer.get())) return linear->in_features();
  return 0;
}

int Sequential::output_width() const {
  for (size_t i = layers_.size(); i-- > 0;)
    if (auto* linear = dynamic_cast<const Linear*>(layers_[i].get())) return linear->out_features();
  return 0;
}

int64_t Sequential::forward_flops_per_sample() const {
  int64_t flops = 0;
  for (auto& layer : layers_)
    if (auto* linear = dynamic_cast<const Linear*>(layer.get()))
      flops += 2LL * linear->in_features() * linear->out_features();
  return flops;
}

int64_t Sequential::training_flops_per_sample() const {
  int64_t flops = 0;
  bool first = true;
  for (auto& layer : layers_)
    if (auto* linear = dynamic_cast<const Linear*>(layer.get())) {
      const int64_t product = 2LL * linear->in_features() * linear->out_features();
      flops += product * (first ? 2 : 3);  // forward, weight gradient, input gradient
      first = false;
    }
  return flops;
}

void Sequential::set_precision(Precision precision) {
  for (auto& layer : layers_)
    if (auto* linear = dynamic_cast<Linear*>(layer.get())) linear->set_precision(precision);
}

Precision Sequential::precision() const {
  for (auto& layer : layers_)
    if (auto* linear = dynamic_cast<const Linear*>(layer.get())) return linear->precision();
  return Precision::fp32;
}

}  // namespace leap
