// The CUDA backend's device, stream and memory; its compute operations are in cuda_ops.cpp.
#include "cuda/cuda_backend.h"

#include <cstdio>
#include <map>
#include <mutex>

#include "backends.h"
#include "cuda/cuda_check.h"
#include "cuda/kernels/elementwise.h"
#include "leap/error.h"

namespace leap {
namespace {

DeviceInfo device_info(int index) {
  cudaDeviceProp properties{};
  LEAP_CUDA_CHECK(cudaGetDeviceProperties(&properties, index));
  int clock_khz = 0;
  LEAP_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, index));
  char bus_id[32] = {};
  LEAP_CUDA_CHECK(cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, index));
  DeviceInfo info;
  info.device = Device::cuda;
  info.index = index;
  info.name = properties.name;
  info.compute_units = properties.multiProcessorCount;
  info.clock_mhz = clock_khz / 1000;
  info.memory_bytes = int64_t(properties.totalGlobalMem);
  info.capability = std::to_string(properties.major) + "." + std::to_string(properties.minor);
  info.pci_bus_id = bus_id;
  info.tensor_cores = properties.major >= 8;  // Ampere and later: TF32 and bf16 units
  return info;
}

std::string describe_device(const DeviceInfo& info) {
  char text[512];
  std::snprintf(text, sizeof text, "cuda:%d %s (%d SMs, %.1f GiB, cc %s)", info.index,
                info.name.c_str(), info.compute_units,
                double(info.memory_bytes) / double(size_t(1) << 30), info.capability.c_str());
  return text;
}

// Checks that GPU `index` is usable; throws saying why not.
void open_device(int index) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(std::string("no usable CUDA GPU: ") + cudaGetErrorString(status));
  }
  check(count >= 1, "no usable CUDA GPU: the driver reports no device");
  check(index < count, "no GPU " + std::to_string(index) + ": the driver reports " +
                           std::to_string(count) + " device(s)");
}

// The GPU this thread's Device::cuda means (use_cuda_device).
thread_local int this_thread_device = 0;

}  // namespace

CudaBackend::CudaBackend(int device_index)
    : device_index_(device_index), info_(device_info(device_index)),
      description_(describe_device(info_)) {
  LEAP_CUDA_CHECK(cudaSetDevice(device_index_));
  // Non-blocking: no implicit synchronisation with the legacy default stream.
  LEAP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  matmul_ = std::make_unique<cuda_detail::Matmul>(stream_);
}

// Never runs for the backend of cuda_backend(); a destructor must not throw, hence no checks.
CudaBackend::~CudaBackend() {
  matmul_.reset();
  prepared_order_.reset();
  try {
    allocator_.empty_cache();
  } catch (const Error&) {
  }
  for (cudaStream_t side : side_streams_) cudaStreamDestroy(side);
  cudaStreamDestroy(stream_);
}

cudaStream_t CudaBackend::side_stream(size_t i) {
  while (side_streams_.size() <= i) {
    cudaStream_t stream = nullptr;
    LEAP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    side_streams_.push_back(stream);
  }
  return side_streams_[i];
}

void CudaBackend::copy_to_host(void* host, const void* source, size_t bytes) {
  if (bytes == 0) return;
  LEAP_CUDA_CHECK(cudaMemcpyAsync(host, source, bytes, cudaMemcpyDeviceToHost, stream_));
  // Pageable host memory: the copy is complete only once the stream is.
  LEAP_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy_from_host(void* target, const void* host, size_t bytes) {
  if (bytes == 0) return;
  LEAP_CUDA_CHECK(cudaMemcpyAsync(target, host, bytes, cudaMemcpyHostToDevice, stream_));
  // The caller may free or reuse `host` as soon as this returns.
  LEAP_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy(void* target, const void* source, size_t bytes) {
  if (bytes == 0 || target == source) return;
  LEAP_CUDA_CHECK(cudaMemcpyAsync(target, source, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::fill(float* target, size_t count, float value) {
  cuda_detail::launch_fill(target, count, value, stream_);
}

void CudaBackend::synchronize() { LEAP_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

bool cuda_available() {
  static const bool available = [] {
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess) return count >= 1;
    (void)cudaGetLastError();  // leave no error behind for later launch checks
    return false;
  }();
  return available;
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) == cudaSuccess) return count;
  (void)cudaGetLastError();
  return 0;
}

void use_cuda_device(int index) {
  check(index >= 0, "GPU index " + std::to_string(index) + " is negative");
  open_device(index);
  LEAP_CUDA_CHECK(cudaSetDevice(index));
  this_thread_device = index;
}

int current_cuda_device() { return this_thread_device; }

std::string cuda_build_description() {
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);  // a static runtime answers without a driver
  return "on (CUDA runtime " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
         ", kernels for sm_" LEAP_CUDA_ARCHITECTURES ", cuBLASLt)";
}

std::vector<DeviceInfo> cuda_device_infos() {
  std::vector<DeviceInfo> devices;
  if (!cuda_available()) return devices;
  int count = 0;
  LEAP_CUDA_CHECK(cudaGetDeviceCount(&count));
  for (int index = 0; index < count; ++index) devices.push_back(device_info(index));
  return devices;
}

Backend& cuda_backend() {
  // Each thread remembers its GPU's backend: this runs for every operation.
  thread_local CudaBackend* mine = nullptr;
  if (mine && mine->device_index() == this_thread_device) return *mine;
  // One backend a GPU, never deleted: tensors released during static destruction still
  // call release(), and the CUDA runtime may be unloaded by then.
  static std::mutex mutex;
  static std::map<int, CudaBackend*> backends;
  std::lock_guard lock(mutex);
  CudaBackend*& instance = backends[this_thread_device];
  if (!instance) {
    open_device(this_thread_device);
    instance = new CudaBackend(this_thread_device);
  }
  mine = instance;
  return *instance;
}

cudaStream_t cuda_stream() { return static_cast<CudaBackend&>(cuda_backend()).stream(); }

}  // namespace leap
