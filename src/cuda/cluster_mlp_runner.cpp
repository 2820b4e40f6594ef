#include "cuda/cluster_mlp_runner.h"

#include <utility>

#include "cuda/cluster_mlp.h"
#include "cuda/cuda_backend.h"

namespace leap::cuda_detail {

std::unique_ptr<ClusterMlpRunner> ClusterMlpRunner::create(CudaBackend& backend,
                                                           const MlpEpochPlan& plan,
                                                           std::string* why_not) {
  if (plan.layers.size() != 2 || !plan.layers[0].relu || plan.layers[1].relu) {
    *why_not = "it takes Linear, ReLU, Linear only";
    return nullptr;
  }
  const int in = plan.layers[0].in;
  *why_not = cluster_mlp_rejection(plan.batch, in, plan.layers[0].out, plan.layers[1].out);
  if (!why_not->empty()) return nullptr;
  const int64_t count = plan.samples * in;
  Tensor byte_images({(count + 3) / 4}, DType::int32, Device::cuda);
  Tensor inexact({2}, DType::int32, Device::cuda);
  const int64_t misses = make_byte_images(
      plan.images, count, reinterpret_cast<uint8_t*>(byte_images.labels()),
      reinterpret_cast<unsigned long long*>(inexact.labels()), backend.stream());
  if (misses > 0) {
    *why_not = std::to_string(misses) + " input values are not bytes / 255";
    return nullptr;
  }
  return std::unique_ptr<ClusterMlpRunner>(new ClusterMlpRunner(backend, plan, std::move(byte_images)));
}

ClusterMlpRunner::ClusterMlpRunner(CudaBackend& backend, const MlpEpochPlan& plan, Tensor byte_images)
    : backend_(backend), plan_(plan), byte_images_(std::move(byte_images)) {}
std::string ClusterMlpRunner::describe() const {
  return "one persistent kernel: a cluster of " + std::to_string(plan_.layers[0].out / 8) +
         " thread blocks, weights and Adam moments on chip, inputs read as bytes, TF32 tensor cores, "
         "fp32 master weights";
}

void ClusterMlpRunner::run(const int32_t* order, int64_t first_batch, int64_t steps,
                           int64_t adam_step, float lr, double* loss_sum, int64_t* correct) {
  const MlpLayer& hidden = plan_.layers[0];
  const MlpLayer& output = plan_.layers[1];
  ClusterMlpArgs args{reinterpret_cast<const uint8_t*>(byte_images_.labels()),
                      plan_.labels,
                      order,
                      first_batch,
                      steps,
                      adam_step,
                      lr,
                      hidden.weight,
                      hidden.bias,
                      output.weight,
                      output.bias,
                      hidden.exp_avg_weight,
                      hidden.exp_avg_sq_weight,
                      hidden.exp_avg_bias,
                      hidden.exp_avg_sq_bias,
                      output.exp_avg_weight,
                      output.exp_avg_sq_weight,
                      output.exp_avg_bias,
                      output.exp_avg_sq_bias,
                      loss_sum,
                      correct,
                      plan_.batch,
                      hidden.in,
                      hidden.out,
                      output.out,
                      {0.0f, 1.0f, plan_.beta1, plan_.beta2, plan_.eps, plan_.weight_decay}};
  launch_cluster_mlp(args, backend_.stream());
}

}  // namespace leap::cuda_detail
