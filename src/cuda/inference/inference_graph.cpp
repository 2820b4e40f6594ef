// InferenceGraph: an MLP's forward pass at a fixed batch size replayed as one CUDA graph:
// copy the inputs in from pinned host memory, the layers' products, copy the logits out.
// A call is then one host memcpy, one graph launch, one wait and one memcpy back.
#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/inference/small_batch_inference.h"

namespace leap {
namespace {

class InferenceGraph final : public InferenceRunner {
 public:
  InferenceGraph(CudaBackend& backend, const InferencePlan& plan)
      : backend_(backend), plan_(plan), stream_(backend.stream()),
        inputs_({plan.batch, plan.layers.front().in}, DType::float32, Device::cuda) {
    for (const MlpLayer& layer : plan.layers)
      outputs_.emplace_back(Shape{plan.batch, layer.out}, DType::float32, Device::cuda);
    LEAP_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&pinned_inputs_), inputs_.bytes()));
    LEAP_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&pinned_logits_), outputs_.back().bytes()));
    queue_call();  // builds the products' plans outside the capture
    LEAP_CUDA_CHECK(cudaStreamSynchronize(stream_));
    cudaGraph_t graph = nullptr;
    LEAP_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    queue_call();
    LEAP_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
    const cudaError_t status = cudaGraphInstantiate(&exec_, graph, 0);
    cudaGraphDestroy(graph);
    LEAP_CUDA_CHECK(status);
  }

  ~InferenceGraph() override {
    // Destructors must not throw: failures here are ignored.
    cudaStreamSynchronize(stream_);
    if (exec_) cudaGraphExecDestroy(exec_);
    cudaFreeHost(pinned_inputs_);
    cudaFreeHost(pinned_logits_);
  }

  void run(const float* inputs, float* logits) override {
    std::memcpy(pinned_inputs_, inputs, inputs_.bytes());
    LEAP_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
    LEAP_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::memcpy(logits, pinned_logits_, outputs_.back().bytes());
  }

  std::string describe() const override {
    return "CUDA graph (pinned copy in, " + std::to_string(plan_.layers.size()) +
           " cuBLASLt products, copy out)";
  }

 private:
  void queue_call() {
    LEAP_CUDA_CHECK(cudaMemcpyAsync(inputs_.data(), pinned_inputs_, inputs_.bytes(),
                                    cudaMemcpyHostToDevice, stream_));
    const float* x = inputs_.data();
    for (size_t l = 0; l < plan_.layers.size(); ++l) {
      const MlpLayer& layer = plan_.layers[l];
      backend_.linear_forward(x, layer.weight, layer.bias, outputs_[l].data(), plan_.batch,
                              layer.in, layer.out, layer.relu, Precision::fp32);
      x = outputs_[l].data();
    }
    LEAP_CUDA_CHECK(cudaMemcpyAsync(pinned_logits_, outputs_.back().data(),
                                    outputs_.back().bytes(), cudaMemcpyDeviceToHost, stream_));
  }

  CudaBackend& backend_;
  InferencePlan plan_;
  cudaStream_t stream_;
  Tensor inputs_;
  std::vector<Tensor> outputs_;
  float* pinned_inputs_ = nullptr;
  float* pinned_logits_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace

// The one-kernel path for the small batches it takes, else the graph. LEAP_INFERENCE_PATH=graph
// forces the graph (for benchmarks comparing the two).
std::unique_ptr<InferenceRunner> CudaBackend::plan_inference(const InferencePlan& plan) {
  if (plan.layers.empty()) return nullptr;
  const char* forced = std::getenv("LEAP_INFERENCE_PATH");
  if (!forced || std::string(forced) != "graph") {
    std::string why_not;
    if (auto runner = cuda_detail::plan_small_batch_inference(*this, plan, &why_not)) return runner;
  }
  return std::make_unique<InferenceGraph>(*this, plan);
}

}  // namespace leap
