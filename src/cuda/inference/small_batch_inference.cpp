#include "cuda/inference/small_batch_inference.h"

#include <emmintrin.h>

#include <cstring>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/inference/small_batch_kernel.h"
#include "leap/error.h"

namespace leap::cuda_detail {
namespace {

class SmallBatchInference final : public InferenceRunner {
 public:
  SmallBatchInference(CudaBackend& backend, const InferencePlan& plan)
      : backend_(backend), plan_(plan), stream_(backend.stream()),
        hid_(plan.layers[0].out), classes_(plan.layers[1].out),
        blocks_(small_batch_blocks(hid_)),
        partial_logits_({blocks_ * plan.batch * classes_}, DType::float32, Device::cuda),
        blocks_done_(Tensor::zeros({1}, DType::int32, Device::cuda)) {
    const size_t input_bytes = sizeof(float) * plan.batch * plan.layers[0].in;
    // Written by this thread, read once by the GPU: write-combined is the fast way over.
    LEAP_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&host_inputs_), input_bytes,
                                  cudaHostAllocMapped | cudaHostAllocWriteCombined));
    LEAP_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&host_results_),
                                  sizeof(float) * plan.batch * classes_ + 64, cudaHostAllocMapped));
    done_call_ = reinterpret_cast<volatile unsigned*>(host_results_ + plan.batch * classes_ + 8);
    *done_call_ = 0;
    LEAP_CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&device_inputs_), host_inputs_, 0));
    LEAP_CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&device_results_), host_results_, 0));
  }

  ~SmallBatchInference() override {
    // Destructors must not throw: failures here are ignored.
    cudaStreamSynchronize(stream_);
    cudaFreeHost(host_inputs_);
    cudaFreeHost(host_results_);
  }

  void run(const float* inputs, float* logits) override {
    const MlpLayer& hidden = plan_.layers[0];
    const MlpLayer& output = plan_.layers[1];
    std::memcpy(host_inputs_, inputs, sizeof(float) * plan_.batch * hidden.in);
    _mm_sfence();  // the write-combined inputs are out before the launch rings the GPU
    const unsigned call = ++calls_;
    const size_t offset = plan_.batch * classes_ + 8;
    SmallBatchArgs args{device_inputs_, hidden.weight, hidden.bias, output.weight, output.bias,
                        partial_logits_.data(), reinterpret_cast<unsigned*>(blocks_done_.labels()),
                        device_results_, reinterpret_cast<volatile unsigned*>(device_results_ + offset),
                        call, plan_.batch, hidden.in, hid_, classes_};
    launch_small_batch_forward(args, stream_);
    wait_for(call);
    std::memcpy(logits, host_results_, sizeof(float) * plan_.batch * classes_);
  }

  std::string describe() const override {
    return "one kernel from mapped host memory to mapped host memory (" + std::to_string(blocks_) +
           " blocks, no copies, no graph)";
  }

 private:
  // Spins on the completion word; asks the stream now and then, so that a failed kernel is
  // an error rather than a hang.
  void wait_for(unsigned call) {
    for (unsigned spins = 1; *done_call_ != call; ++spins) {
      if (spins % 256) continue;
      const cudaError_t status = cudaStreamQuery(stream_);
      if (status == cudaErrorNotReady) continue;
      LEAP_CUDA_CHECK(status);
      if (*done_call_ != call)
        throw Error("small-batch inference: the kernel finished without writing call " +
                    std::to_string(call) + "'s result");
    }
  }

  CudaBackend& backend_;
  InferencePlan plan_;
  cudaStream_t stream_;
  int hid_, classes_, blocks_;
  Tensor partial_logits_, blocks_done_;
  float* host_inputs_ = nullptr;   // write-combined, mapped
  float* host_results_ = nullptr;  // logits, then the completion word
  float* device_inputs_ = nullptr;
  float* device_results_ = nullptr;
  volatile unsigned* done_call_ = nullptr;
  unsigned calls_ = 0;
};

}  // namespace

std::unique_ptr<InferenceRunner> plan_small_batch_inference(CudaBackend& backend, const InferencePlan& plan,
                                                            std::string* why_not) {
  if (plan.layers.size() != 2 || !plan.layers[0].relu || plan.layers[1].relu)
    *why_not = "it takes Linear, ReLU, Linear only";
  else if (plan.batch > kSmallBatchMaxRows)
    *why_not = "batch " + std::to_string(plan.batch) + " is over " + std::to_string(kSmallBatchMaxRows);
  else if (plan.layers[0].in % 4 != 0 || plan.batch * plan.layers[0].in > kSmallBatchMaxInputs)
    *why_not = "the inputs per sample are not a multiple of 4 or too many";
  else if (plan.layers[1].out > kSmallBatchMaxClasses)
    *why_not = "more than 32 classes";
  else
    return std::make_unique<SmallBatchInference>(backend, plan);
  return nullptr;
}

}  // namespace leap::cuda_detail
