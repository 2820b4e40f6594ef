// The small kernels of the graph runner, which keep the step-to-step state on the device.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace leap::cuda_detail {

// What changes from one training step to the next, kept in device memory so that one
// captured graph serves every step.
struct RunnerState {
  const int32_t* order;  // the epoch's sample order
  int64_t batch_index;   // the batch the next step takes
  int64_t adam_steps;    // Adam steps taken so far
  float lr;
  double loss_sum;       // this run's summed loss and correct count
  int64_t correct;
};

// inputs[row] = images[order[batch_index * batch + row]], and its label, for row < batch;
// Input is float, or __nv_bfloat16 (rounded to nearest) for the mixed-precision step.
template <typename Input>
void launch_gather_batch(const RunnerState* state, const float* images, const int32_t* labels,
                         Input* inputs, int32_t* batch_labels, int batch, int width,
                         cudaStream_t stream);
// rows[row] = table[order[batch_index * batch + row]] for row < batch (rows of `width`).
void launch_gather_rows(const RunnerState* state, const float* table, float* rows, int batch,
                        int width, cudaStream_t stream);
// Moves to the next batch and counts the Adam step.
void launch_advance(RunnerState* state, cudaStream_t stream);
// Adds the run's loss sum and correct count to the caller's.
void launch_collect(const RunnerState* state, double* loss_sum, int64_t* correct,
                    cudaStream_t stream);

}  // namespace leap::cuda_detail
