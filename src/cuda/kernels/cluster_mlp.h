// The persistent training kernel of a one-hidden-layer MLP (Linear -> ReLU -> Linear ->
// softmax cross-entropy, Adam): one thread-block cluster runs many steps in one launch.
// Block r of the cluster owns hidden units [8r, 8r+8): its slice of the first layer's
// weights stays in registers for the whole launch, their Adam moments in shared memory, as
// are its slice of the second layer, a copy of the output bias and their moments. Each step
// the blocks exchange two things by asynchronous stores into each other's shared memories:
// each row's share of the logits goes to the row's owner block, and the owner's
// d(loss)/d(logits) goes to every block. The inputs are read as bytes (x = u / 255, as IDX
// images are), each image copied once into every block (multicast), a batch ahead. Matrix
// products run on the tensor cores to fp32 accuracy: the first layer's in fp16 (the bytes
// exactly; each weight or gradient operand scaled by a power of two and split into two fp16
// parts, high + low), the logits' in TF32 (each operand split likewise), all with fp32
// accumulation; weights and moments are fp32 throughout. tf32 training gets the same.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "cuda/kernels/launch_steps.h"
#include "cuda/kernels/mlp_weights.h"
#include "cuda/kernels/optimizer.h"

namespace leap::cuda_detail {

// The bytes of an image row in the kernel's copy of the data: the largest input width.
constexpr int kClusterImageBytes = 784;

struct ClusterMlpArgs {
  const uint8_t* image_bytes;  // [samples, kClusterImageBytes] from make_byte_images
  const int32_t* labels;
  LaunchSteps run;
  MlpWeights weights;
  double* loss_sum;  // the launch adds its summed loss and correct count here
  int64_t* correct;
  int batch, in, hid, classes;
  AdamScalars adam;  // beta1, beta2, eps, weight_decay
  long long* phase_cycles;  // null, or [kTimers][kPhases] cycle counts, the loop's ns and cycles,
                            // then [kTimedBarriers][kMaxTimedWarps] lateness, to add to
};

// The phases of a step that ClusterMlpArgs::phase_cycles times, for each of kTimers warps.
constexpr int kPhases = 10;
constexpr int kTimers = 3;
// With them, for the block barriers after the forward and after the gradients' uses, each
// warp's cycles from the first warp's arrival to its own, summed over steps (block 0).
constexpr int kTimedBarriers = 2;
constexpr int kMaxTimedWarps = 16;
constexpr int kPhaseWords = kTimers * kPhases + 2 + kTimedBarriers * kMaxTimedWarps;

// Why the kernel cannot take this shape on the current GPU, or "" when it can.
std::string cluster_mlp_rejection(int batch, int in, int hid, int classes);

// Writes the kernel's copy of `samples` images of `in` values, [samples, kClusterImageBytes]
// bytes u for values u / 255 (in the kernel's column order, zeros past `in`), and returns
// how many values are not of that form (then the kernel cannot take the data). `inexact` is
// a device counter. Waits.
int64_t make_byte_images(const float* images, int64_t samples, int in, uint8_t* byte_images,
                         unsigned long long* inexact, cudaStream_t stream);

// Runs args.steps training steps as one cluster launch on the stream.
void launch_cluster_mlp(const ClusterMlpArgs& args, cudaStream_t stream);

// Several models side by side: a cluster a model, each its own weights, moments, order,
// steps and hyper-parameters, reading the same byte images or others. Models of one hidden
// width share a launch (kMaxClusterModels at most); each ends with the bits that
// launch_cluster_mlp gives it alone.
constexpr int kMaxClusterModels = 32;
struct ClusterMlpModels {
  int count;
  ClusterMlpArgs model[kMaxClusterModels];
};
// Kernel parameters may take 32,764 bytes (CUDA 12.1 and later).
static_assert(sizeof(ClusterMlpModels) <= 32764, "the models' arguments must fit a launch's parameters");
void launch_cluster_mlps(const ClusterMlpArgs* models, int count, cudaStream_t stream);

}  // namespace leap::cuda_detail
