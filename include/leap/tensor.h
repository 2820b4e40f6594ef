// Tensor: a contiguous, row-major block of float32 or int32 values on one device.
// Copies share storage (like torch.Tensor); clone() makes a deep copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace leap {

enum class Device { cpu, cuda };
enum class DType { float32, int32 };

std::string to_string(Device device);
using Shape = std::vector<int64_t>;
std::string to_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised storage of the given shape on `device`.
  explicit Tensor(Shape shape, DType dtype = DType::float32, Device device = Device::cpu);

  static Tensor zeros(Shape shape, DType dtype = DType::float32, Device device = Device::cpu);
  static Tensor from_vector(Shape shape, const std::vector<float>& values,
                            Device device = Device::cpu);
  static Tensor from_vector(Shape shape, const std::vector<int32_t>& values,
                            Device device = Device::cpu);

  const Shape& shape() const { return shape_; }
  int64_t dim(int axis) const { return shape_.at(axis); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const;
  size_t bytes() const { return static_cast<size_t>(numel()) * 4; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool defined() const { return storage_ != nullptr; }

  float* data();
  const float* data() const;
  int32_t* labels();
  const int32_t* labels() const;

  // A copy on `device` (shares storage when already there).
  Tensor to(Device device) const;
  Tensor clone() const;
  // Copies values from `source` (same shape and dtype, any device) into this tensor.
  void copy_from(const Tensor& source);
  // Same storage, new shape with the same number of elements.
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of the first axis, sharing storage.
  Tensor rows(int64_t begin, int64_t end) const;

  std::vector<float> to_vector() const;
  std::vector<int32_t> to_label_vector() const;

 private:
  std::shared_ptr<std::byte> storage_;
  size_t offset_ = 0;  // in elements, for row views
  Shape shape_;
  DType dtype_ = DType::float32;
  Device device_ = Device::cpu;
};

}  // namespace leap
