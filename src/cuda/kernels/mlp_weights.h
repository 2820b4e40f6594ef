// The parameters and Adam moments of a one-hidden-layer MLP as the fused kernels take them
// (fused_mlp.cu, cluster_mlp.cu). Plain C++17, for the kernels' headers.
#pragma once

namespace leap::cuda_detail {

struct MlpWeights {
  float *w1, *b1, *w2, *b2;  // [hid, in], [hid], [classes, hid], [classes]
  float *m_w1, *v_w1, *m_b1, *v_b1, *m_w2, *v_w2, *m_b2, *v_b2;
};

}  // namespace leap::cuda_detail
