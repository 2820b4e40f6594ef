// The order of work in a step of the whole-GPU kernel (grid_mlp.cu): 2L phases for L Linear
// layers, a grid-wide barrier after each, each phase one or two jobs whose tiles the blocks
// share. Plain C++17 for the host too: a CPU test (tests/test_grid_mlp_schedule.cpp) checks
// that no phase reads what another job of the same phase writes, and that every value a job
// reads was written in an earlier phase.
//   phase l, l < L - 1:  forward of layer l (activations[l + 1] = relu(...))
//   phase L - 1:         logits, the loss, gradients[L]
//   phase L + k:         backward of layer l = L - 1 - k: the input gradient gradients[l]
//                        (l >= 1) and the update of layer l + 1 (l + 1 < L), whose weights
//                        no job reads in this phase; phase 2L - 1 updates layers 1 and 0.
#pragma once

#ifdef __CUDACC__
#define LEAP_HOST_DEVICE __host__ __device__
#else
#define LEAP_HOST_DEVICE
#endif

namespace leap::cuda_detail {

constexpr int kGridMaxLayers = 5;  // Linear layers

enum class GridJobKind { forward, logits, input_gradient, update };

struct GridJob {
  GridJobKind kind;
  int layer;
};

struct GridPhase {
  GridJob jobs[2];
  int count;
};

LEAP_HOST_DEVICE constexpr GridPhase grid_phase(int depth, int phase) {
  if (phase < depth - 1) return {{{GridJobKind::forward, phase}}, 1};
  if (phase == depth - 1) return {{{GridJobKind::logits, phase}}, 1};
  const int l = 2 * depth - 1 - phase;
  GridPhase p{};
  p.jobs[p.count++] = l >= 1 ? GridJob{GridJobKind::input_gradient, l} : GridJob{GridJobKind::update, 0};
  if (l + 1 < depth) p.jobs[p.count++] = {GridJobKind::update, l + 1};
  return p;
}

}  // namespace leap::cuda_detail
