// The persistent training kernel of a one-hidden-layer MLP (Linear -> ReLU -> Linear ->
// softmax cross-entropy, Adam): one thread-block cluster runs many steps in one launch.
// Block r of the cluster owns hidden units [8r, 8r+8): its slice of the first layer's
// weights stays in registers for the whole launch, their Adam moments in shared memory, its
// slice of the second layer (and a copy of the output bias) in registers of the threads that
// update them. Each step the blocks exchange two things by bulk copies between their shared
// memories: each row's share of the logits goes to the row's owner block, and the owner's
// d(loss)/d(logits) goes to every block. The inputs are read as bytes (x = u / 255, as IDX
// images are), each image copied once into every block (multicast), a batch ahead. Matrix
// products run on the tensor cores in TF32 (the bytes exactly) with fp32 accumulation, or,
// for fp32 training, each weight or gradient operand split into two TF32 parts (high + low),
// which gives the fp32 product; weights and moments are fp32 throughout.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "cuda/mlp_weights.h"
#include "cuda/optimizer.h"

namespace leap::cuda_detail {

struct ClusterMlpArgs {
  const uint8_t* image_bytes;  // [samples, in]: u where the image value is u / 255
  const int32_t* labels;
  const int32_t* order;  // the epoch's sample order
  int64_t first_batch;   // batch k of the launch takes order[(first_batch + k) * batch ...]
  int64_t steps;
  int64_t adam_steps;    // Adam steps taken before the launch
  float lr;
  MlpWeights weights;
  double* loss_sum;  // the launch adds its summed loss and correct count here
  int64_t* correct;
  int batch, in, hid, classes;
  AdamScalars adam;  // beta1, beta2, eps, weight_decay
  bool fp32_products;  // w1's products to fp32 accuracy (each TF32 operand split in two); else TF32
  long long* phase_cycles;  // null, or [kTimers][kPhases] cycle counts, then the loop's ns and cycles, to add to
};

// The phases of a step that ClusterMlpArgs::phase_cycles times, for each of kTimers warps.
constexpr int kPhases = 10;
constexpr int kTimers = 3;

// Why the kernel cannot take this shape on the current GPU, or "" when it can.
std::string cluster_mlp_rejection(int batch, int in, int hid, int classes);

// Writes byte_images[i] = u for images[i] == u / 255 and returns how many values are not of
// that form (then the kernel cannot take the data). `inexact` is a device counter. Waits.
int64_t make_byte_images(const float* images, int64_t count, uint8_t* byte_images,
                         unsigned long long* inexact, cudaStream_t stream);

// Runs args.steps training steps as one cluster launch on the stream.
void launch_cluster_mlp(const ClusterMlpArgs& args, cudaStream_t stream);

}  // namespace leap::cuda_detail
