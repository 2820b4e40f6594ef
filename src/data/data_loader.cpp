#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "leap/backend.h"
#include "leap/data.h"
#include "leap/parallel.h"
#include "leap/error.h"
#include "leap/random.h"

namespace leap {

void check_dataset(const Dataset& data, int64_t input_width, int classes, const std::string& what) {
  check(data.size() > 0, what + " is empty");
  check(data.images.rank() == 2 && data.labels.rank() == 1 && data.labels.dim(0) == data.size(),
        what + ": images " + to_string(data.images.shape()) + " and labels " +
            to_string(data.labels.shape()) + " do not pair up");
  check(data.features() == input_width,
        what + " has " + std::to_string(data.features()) + " features per sample but the model takes " +
            std::to_string(input_width) + " (the first width of the model spec)");
  // Read in place on the CPU: a copy of Fashion-MNIST's images is 188 MB, whose allocation
  // and page faults had cost about a second a check. From another device, a copy.
  std::vector<int32_t> label_copy;
  std::vector<float> image_copy;
  const bool host = data.images.device() == Device::cpu && data.labels.device() == Device::cpu;
  const std::span<const int32_t> labels =
      host ? std::span(data.labels.labels(), size_t(data.labels.numel())) : (label_copy = data.labels.to_label_vector());
  const std::span<const float> images =
      host ? std::span(data.images.data(), size_t(data.images.numel())) : (image_copy = data.images.to_vector());
  // Plain ifs, not check(): the message is built only for the sample that fails.
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw Error(what + ": label " + std::to_string(labels[i]) + " at sample " +
                  std::to_string(i) + " is outside [0, " + std::to_string(classes) + "): the model has " +
                  std::to_string(classes) + " outputs");
  for (size_t i = 0; i < images.size(); ++i)
    if (!std::isfinite(images[i]))
      throw Error(what + ": non-finite value " + std::to_string(images[i]) + " at sample " +
                  std::to_string(i / data.features()) + ", feature " +
                  std::to_string(i % data.features()));
}

DataLoader::DataLoader(Dataset data, LoaderOptions options)
    : data_(std::move(data)), options_(options) {
  check(options_.batch_size > 0, "batch size must be positive, got " + std::to_string(options_.batch_size));
  check(data_.size() > 0, "DataLoader given an empty data set");
  check(data_.size() < INT32_MAX, "data set too large for int32 indices");
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = data_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::start_epoch(int epoch, int64_t first_batch) {
  check(first_batch >= 0 && first_batch <= batches_per_epoch(),
        "DataLoader: batch " + std::to_string(first_batch) + " is outside an epoch of " +
            std::to_string(batches_per_epoch()) + " batches");
  position_ = std::min(first_batch * options_.batch_size, data_.size());
  const Device device = data_.images.device();
  if (options_.shuffle) {  // made where the data are: on the GPU, no host round trip
    order_ = Tensor({data_.size()}, DType::int32, device);
    backend(device).shuffled_order(epoch_seed(epoch), order_.labels(), data_.size());
  } else {
    std::vector<int32_t> order(data_.size());
    std::iota(order.begin(), order.end(), 0);
    order_ = Tensor::from_vector({data_.size()}, order, device);
  }
}

uint64_t DataLoader::epoch_seed(int epoch) const {
  return options_.seed * 0x9E3779B97F4A7C15ULL + uint64_t(epoch) + 1;
}

void DataLoader::prepare_epoch(int epoch) {
  if (options_.shuffle) backend(data_.images.device()).prepare_shuffled_order(epoch_seed(epoch), data_.size());
}

void DataLoader::skip_batches(int64_t count) {
  check(count >= 0 && count <= full_batches_left(), "DataLoader: cannot skip " + std::to_string(count) + " batches");
  position_ += count * options_.batch_size;
}

int64_t DataLoader::partial_batch_rows() const {
  const int64_t left = data_.size() - position_;
  return left < options_.batch_size && !options_.drop_last ? left : 0;
}

void DataLoader::skip_partial_batch() {
  check(partial_batch_rows() > 0, "DataLoader: no partial batch to skip");
  position_ = data_.size();
}

void DataLoader::shard(int rank, int ranks) {
  check(ranks > 0 && rank >= 0 && rank < ranks,
        "DataLoader: rank " + std::to_string(rank) + " of " + std::to_string(ranks));
  rank_ = rank;
  ranks_ = ranks;
}

bool DataLoader::next(Tensor& images, Tensor& labels, Tensor* soft_targets) {
  check(order_.defined(), "DataLoader.next before start_epoch");
  const int64_t remaining = data_.size() - position_;
  const int64_t global = std::min<int64_t>(remaining, options_.batch_size);
  if (global <= 0 || (options_.drop_last && global < options_.batch_size)) return false;
  const Shard mine = shard_of(global, rank_, ranks_);
  const int64_t count = mine.size();
  const Device device = data_.images.device();
  const int width = int(data_.features());
  images = Tensor({count, width}, DType::float32, device);
  labels = Tensor({count}, DType::int32, device);
  Backend& engine = backend(device);
  const int32_t* index = order_.labels() + position_ + mine.begin;
  // A rank may get no rows of a last batch smaller than the rank count: no kernel to launch.
  if (count > 0) {
    engine.gather_rows(data_.images.data(), index, images.data(), int(count), width);
    engine.gather_labels(data_.labels.labels(), index, labels.labels(), int(count));
  }
  if (soft_targets && data_.soft_targets.defined()) {
    const int classes = int(data_.soft_targets.dim(1));
    *soft_targets = Tensor({count, classes}, DType::float32, device);
    if (count > 0)
      engine.gather_rows(data_.soft_targets.data(), index, soft_targets->data(), int(count), classes);
  }
  position_ += global;
  batch_samples_ = global;
  return true;
}

}  // namespace leap
