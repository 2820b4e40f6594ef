// A typed block of GPU memory from the CUDA backend's caching allocator, for element types
// Tensor does not hold (bf16 activations, ReLU bit masks). Host code only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "leap/backend.h"

namespace leap::cuda_detail {

template <typename Element>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count)
      : data_(static_cast<Element*>(
            backend(Device::cuda).allocate(std::max<size_t>(count, 1) * sizeof(Element)))),
        count_(count) {}
  ~DeviceBuffer() {
    if (data_) backend(Device::cuda).release(data_);
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  Element* data() const { return data_; }
  size_t count() const { return count_; }

 private:
  Element* data_ = nullptr;
  size_t count_ = 0;
};

}  // namespace leap::cuda_detail
