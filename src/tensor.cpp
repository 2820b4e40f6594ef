#include "leap/tensor.h"

#include <cstring>
#include <numeric>
#include <type_traits>

#include "leap/backend.h"
#include "leap/error.h"

namespace leap {

std::string to_string(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

std::string to_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

static int64_t count_of(const Shape& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    // Branch first: the message is built only when it is needed (numel() runs in loops).
    if (extent < 0) throw Error("tensor shape " + to_string(shape) + " has a negative extent");
    count *= extent;
  }
  return count;
}

Tensor::Tensor(Shape shape, DType dtype, Device device)
    : shape_(std::move(shape)), dtype_(dtype), device_(device) {
  Backend& owner = backend(device);
  size_t size = std::max<size_t>(bytes(), 4);
  storage_ = std::shared_ptr<std::byte>(static_cast<std::byte*>(owner.allocate(size)),
                                        [&owner](std::byte* p) { owner.release(p); });
}

int64_t Tensor::numel() const { return count_of(shape_); }

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor tensor(std::move(shape), dtype, device);
  // Zero bits are 0.0f and 0 alike.
  backend(device).fill(reinterpret_cast<float*>(tensor.storage_.get()), tensor.numel(), 0.0f);
  return tensor;
}

// A tensor of `values` (float32 or int32) on `device`.
template <typename T>
static Tensor tensor_of(Shape shape, const std::vector<T>& values, Device device) {
  constexpr bool floats = std::is_same_v<T, float>;
  Tensor tensor(std::move(shape), floats ? DType::float32 : DType::int32, device);
  check(static_cast<int64_t>(values.size()) == tensor.numel(),
        "from_vector: " + std::to_string(values.size()) + (floats ? " values" : " labels") +
            " for shape " + to_string(tensor.shape()));
  void* target = nullptr;
  if constexpr (floats) target = tensor.data(); else target = tensor.labels();
  backend(device).copy_from_host(target, values.data(), tensor.bytes());
  return tensor;
}

Tensor Tensor::from_vector(Shape shape, const std::vector<float>& values, Device device) {
  return tensor_of(std::move(shape), values, device);
}

Tensor Tensor::from_vector(Shape shape, const std::vector<int32_t>& values, Device device) {
  return tensor_of(std::move(shape), values, device);
}

float* Tensor::data() {
  check(dtype_ == DType::float32, "tensor holds int32 values, not float32");
  return reinterpret_cast<float*>(storage_.get()) + offset_;
}
const float* Tensor::data() const { return const_cast<Tensor*>(this)->data(); }

int32_t* Tensor::labels() {
  check(dtype_ == DType::int32, "tensor holds float32 values, not int32");
  return reinterpret_cast<int32_t*>(storage_.get()) + offset_;
}
const int32_t* Tensor::labels() const { return const_cast<Tensor*>(this)->labels(); }

static const void* raw(const Tensor& t) {
  return t.dtype() == DType::float32 ? static_cast<const void*>(t.data()) : t.labels();
}

Tensor Tensor::to(Device device) const {
  if (device == device_) return *this;
  Tensor result(shape_, dtype_, device);
  result.copy_from(*this);
  return result;
}

Tensor Tensor::clone() const {
  Tensor result(shape_, dtype_, device_);
  result.copy_from(*this);
  return result;
}

void Tensor::copy_from(const Tensor& source) {
  check(source.shape_ == shape_ && source.dtype_ == dtype_,
        "copy_from: shape " + to_string(source.shape_) + " into " + to_string(shape_));
  void* target = const_cast<void*>(raw(*this));
  if (source.device_ == device_) {
    backend(device_).copy(target, raw(source), bytes());
  } else if (source.device_ == Device::cpu) {
    backend(device_).copy_from_host(target, raw(source), bytes());
  } else if (device_ == Device::cpu) {
    backend(source.device_).copy_to_host(target, raw(source), bytes());
  } else {
    copy_from(source.to(Device::cpu));
  }
}

Tensor Tensor::reshape(Shape shape) const {
  check(count_of(shape) == numel(),
        "reshape: " + to_string(shape_) + " cannot become " + to_string(shape));
  Tensor result = *this;
  result.shape_ = std::move(shape);
  return result;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  check(rank() >= 1 && 0 <= begin && begin <= end && end <= shape_[0],
        "rows: [" + std::to_string(begin) + ", " + std::to_string(end) + ") out of " +
            to_string(shape_));
  Tensor result = *this;
  result.shape_[0] = end - begin;
  result.offset_ += static_cast<size_t>(begin) * (numel() / std::max<int64_t>(shape_[0], 1));
  return result;
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> values(numel());
  backend(device_).copy_to_host(values.data(), data(), bytes());
  return values;
}

std::vector<int32_t> Tensor::to_label_vector() const {
  std::vector<int32_t> values(numel());
  backend(device_).copy_to_host(values.data(), labels(), bytes());
  return values;
}

}  // namespace leap
