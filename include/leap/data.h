// Data sets and the loader that batches them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "leap/tensor.h"

namespace leap {

// Samples as rows: images[n, features] float32 (pixels scaled to [0,1]) and labels[n] int32;
// for distillation also a teacher's logits[n, classes] as soft targets.
struct Dataset {
  Tensor images;
  Tensor labels;
  int classes = 10;
  Tensor soft_targets;  // undefined unless distilling

  int64_t size() const { return images.defined() ? images.dim(0) : 0; }
  int64_t features() const { return images.defined() ? images.dim(1) : 0; }
  Dataset to(Device device) const {
    return {images.to(device), labels.to(device), classes,
            soft_targets.defined() ? soft_targets.to(device) : Tensor()};
  }
};

}  // namespace leap

namespace leap {

// Throws leap::Error when `data` does not suit a model of `input_width` inputs and
// `classes` outputs: wrong feature count, labels outside [0, classes), NaN or Inf inputs.
// `what` names the data in the message ("training data").
void check_dataset(const Dataset& data, int64_t input_width, int classes, const std::string& what);

struct LoaderOptions {
  int batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
};

// Batches of a data set in a seeded order that is redrawn each epoch (the order of epoch e
// depends only on the seed and e, so a resumed run sees the same batches).
class DataLoader {
 public:
  DataLoader(Dataset data, LoaderOptions options);

  int64_t batches_per_epoch() const;
  // Draws the order of `epoch` (0-based) and goes to batch `first_batch` of it (a resumed
  // run starts where its checkpoint stopped).
  void start_epoch(int epoch, int64_t first_batch = 0);
  // Lets the backend begin drawing the order of `epoch` before start_epoch asks for it (on
  // the GPU, while the epoch before it is validated).
  void prepare_epoch(int epoch);
  // The next batch of the epoch, on the data's device; false when the epoch is done.
  // soft_targets, when given and the data has them, receives the batch's rows of them.
  // After shard(), only this rank's rows of the batch (possibly none).
  bool next(Tensor& images, Tensor& labels, Tensor* soft_targets = nullptr);
  // Samples in the batch next() returned last, over all ranks.
  int64_t batch_samples() const { return batch_samples_; }

  // Data-parallel training: every rank draws the same order and takes its shard_of (see
  // dist.h) each batch of batch_size, which stays the global batch.
  void shard(int rank, int ranks);

  // For runners that take whole batches themselves: the epoch's order (device memory), the
  // number of full batches left, the rows of a last, partial batch still to train (0 when
  // none, or when drop_last drops it), and skips past batches they ran.
  const int32_t* order() const { return order_.labels(); }
  int64_t position() const { return position_; }
  int64_t full_batches_left() const { return (data_.size() - position_) / options_.batch_size; }
  int64_t partial_batch_rows() const;
  void skip_batches(int64_t count);
  void skip_partial_batch();

  const Dataset& data() const { return data_; }
  const LoaderOptions& options() const { return options_; }

 private:
  Dataset data_;
  LoaderOptions options_;
  uint64_t epoch_seed(int epoch) const;  // the shuffle's seed for `epoch`
  Tensor order_;  // int32 [n] on the data's device
  int64_t position_ = 0;
  int64_t batch_samples_ = 0;
  int rank_ = 0, ranks_ = 1;
};

}  // namespace leap
