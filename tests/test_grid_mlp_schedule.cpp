// The whole-GPU kernel's order of work (src/cuda/kernels/grid_mlp_schedule.h), checked on the
// CPU for every depth it takes: the data flow of two steps in a row, phase by phase, with
// what each kind of job reads and writes as grid_mlp.cu implements it.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cuda/kernels/grid_mlp_schedule.h"

namespace leap::cuda_detail {
namespace {

// "W1" (layer 1's weights and bias), "A2" (activations[2]; A0 the images), "G3" (gradients[3]).
using Tensor = std::string;
std::string name(char kind, int layer) { return kind + std::to_string(layer); }

struct Access {
  std::set<Tensor> reads, writes;
};

Access access(const GridJob& job) {
  const int l = job.layer;
  switch (job.kind) {
    case GridJobKind::forward: return {{name('W', l), name('A', l)}, {name('A', l + 1)}};
    case GridJobKind::logits: return {{name('W', l), name('A', l)}, {name('G', l + 1)}};
    case GridJobKind::input_gradient: return {{name('G', l + 1), name('W', l), name('A', l)}, {name('G', l)}};
    case GridJobKind::update: return {{name('G', l + 1), name('A', l), name('W', l)}, {name('W', l)}};
  }
  return {};
}

TEST(GridMlpSchedule, EveryReadSeesTheValueItNeedsAndNoPhaseRaces) {
  for (int depth = 2; depth <= kGridMaxLayers; ++depth) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    // For each tensor, the (step, phase) of its last write; the weights start written at step -1.
    std::map<Tensor, std::pair<int, int>> written;
    for (int l = 0; l < depth; ++l) written[name('W', l)] = {-1, 0};
    written["A0"] = {-1, 0};  // the images
    for (int step = 0; step < 2; ++step) {
      std::map<int, int> forwards, updates;  // by layer, this step
      for (int p = 0; p < 2 * depth; ++p) {
        const GridPhase phase = grid_phase(depth, p);
        ASSERT_GE(phase.count, 1);
        ASSERT_LE(phase.count, 2);
        std::vector<Access> jobs;
        for (int j = 0; j < phase.count; ++j) jobs.push_back(access(phase.jobs[j]));
        // No job of the phase reads or writes what another job of it writes.
        for (size_t x = 0; x < jobs.size(); ++x)
          for (size_t y = 0; y < jobs.size(); ++y)
            if (x != y)
              for (const Tensor& t : jobs[x].writes)
                EXPECT_FALSE(jobs[y].reads.count(t) || jobs[y].writes.count(t)) << t << " in phase " << p;
        for (int j = 0; j < phase.count; ++j) {
          const GridJob& job = phase.jobs[j];
          for (const Tensor& t : jobs[j].reads) {
            ASSERT_TRUE(written.count(t)) << t << " read in phase " << p << " before any write";
            const auto [when_step, when_phase] = written[t];
            if (t[0] == 'W') {
              // A step reads the weights the last step's update left (the first step: the
              // initial ones); only the update itself reads what it writes.
              if (job.kind != GridJobKind::update) EXPECT_EQ(when_step, step - 1) << t << " in phase " << p;
            } else if (t != "A0") {
              // Activations and gradients of this step, from an earlier phase.
              EXPECT_EQ(when_step, step) << t << " in phase " << p;
              EXPECT_LT(when_phase, p) << t << " in phase " << p;
            }
          }
          if (job.kind == GridJobKind::forward || job.kind == GridJobKind::logits) ++forwards[job.layer];
          if (job.kind == GridJobKind::update) ++updates[job.layer];
        }
        for (const Access& job : jobs)
          for (const Tensor& t : job.writes) written[t] = {step, p};
      }
      for (int l = 0; l < depth; ++l) {
        EXPECT_EQ(forwards[l], 1) << "layer " << l;
        EXPECT_EQ(updates[l], 1) << "layer " << l;
      }
    }
  }
}

}  // namespace
}  // namespace leap::cuda_detail
