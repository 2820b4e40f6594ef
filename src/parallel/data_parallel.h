// DataParallel: what a training step does differently when ranks share it (dist.h): the
// replicas made equal at the start, gradients averaged over the global batch layer by layer
// while backward still runs, and the decisions all ranks must take alike. With no
// communicator, or one rank, it trains alone.
#pragma once

#include <cstdint>

#include "leap/parallel.h"
#include "leap/optimizer.h"
#include "leap/sequential.h"

namespace leap {

class DataParallel {
 public:
  DataParallel(Communicator* communicator, Sequential& network);

  // More than one rank shares the training.
  bool shared() const { return communicator_ != nullptr && communicator_->ranks() > 1; }
  int rank() const { return shared() ? communicator_->rank() : 0; }
  int ranks() const { return shared() ? communicator_->ranks() : 1; }

  // Copies rank 0's parameters and optimizer state to every rank.
  void make_replicas_equal(Optimizer& optimizer);
  // Backward from grad_logits (the gradient of this rank's mean loss over its `rows` of a
  // batch of `batch_rows`), leaving every rank with the gradient of the batch's mean loss.
  void backward(const Tensor& grad_logits, int64_t rows, int64_t batch_rows);
  // The same for a rank that has no rows of the batch: it adds zeros to the others' sums.
  void backward_without_rows();
  // True on every rank when `mine` is true on any.
  bool any(bool mine);

 private:
  void start_sum(Module& layer, float weight);

  Communicator* communicator_;
  Sequential& network_;
};

}  // namespace leap
