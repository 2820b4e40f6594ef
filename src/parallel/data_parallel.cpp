#include "parallel/data_parallel.h"

#include <vector>

#include "leap/backend.h"
#include "leap/error.h"
#include "leap/dropout.h"

namespace leap {

DataParallel::DataParallel(Communicator* communicator, Sequential& network)
    : communicator_(communicator), network_(network) {
  if (!shared()) return;
  check(communicator_->device() == network_.device(),
        "data-parallel training: the communicator works on " + to_string(communicator_->device()) +
            " memory, the model is on " + to_string(network_.device()));
  for (size_t i = 0; i < network_.size(); ++i)
    if (auto* dropout = dynamic_cast<Dropout*>(&network_[i])) dropout->set_stream(uint64_t(rank()));
}

void DataParallel::make_replicas_equal(Optimizer& optimizer) {
  if (!shared()) return;
  for (Parameter* p : network_.parameters())
    communicator_->broadcast({p->value.data(), size_t(p->value.numel())}, 0);
  // Defined alike on every rank: all ran the same code (a resume loads the same file).
  for (auto& [name, state] : optimizer.state())
    if (state->defined()) communicator_->broadcast({state->data(), size_t(state->numel())}, 0);
  communicator_->finish();
}

void DataParallel::start_sum(Module& layer, float weight) {
  std::vector<FloatBuffer> bucket;
  for (Parameter* p : layer.parameters()) bucket.push_back({p->grad.data(), size_t(p->grad.numel())});
  communicator_->start_sum(bucket, weight);
}

void DataParallel::backward(const Tensor& grad_logits, int64_t rows, int64_t batch_rows) {
  if (!shared()) {
    network_.backward(grad_logits);
    return;
  }
  // The loss was averaged over this rank's rows; weighted by the rank's share, the sum over
  // ranks averages over the batch (shares differ when the ranks do not divide it).
  const float weight = float(double(rows) / double(batch_rows));
  network_.backward(grad_logits, [&](Module& layer) { start_sum(layer, weight); });
  communicator_->finish();
}

void DataParallel::backward_without_rows() {
  check(shared(), "a batch without rows on a rank that trains alone");
  Backend& engine = backend(network_.device());
  // The same buckets in the same order as backward(): last layer first.
  for (size_t i = network_.size(); i-- > 0;) {
    Module& layer = network_[i];
    if (layer.parameters().empty()) continue;
    for (Parameter* p : layer.parameters()) {
      engine.fill(p->grad.data(), size_t(p->grad.numel()), 0.0f);
      p->has_grad = true;
    }
    start_sum(layer, 0.0f);
  }
  communicator_->finish();
}

bool DataParallel::any(bool mine) {
  if (!shared()) return mine;
  double flag = mine ? 1.0 : 0.0;
  communicator_->sum_on_host(&flag, 1);
  return flag > 0.0;
}

}  // namespace leap
