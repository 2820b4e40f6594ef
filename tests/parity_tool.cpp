// parity_tool INIT DATA OUT: loads weights that PyTorch saved (INIT) and batches (DATA:
// "images" [steps*batch, features], "labels" [steps*batch], "batch" [1]), trains them in
// order with the PyTorch-style API, and writes each step's loss, the logits of the initial
// model on the first batch, and the final weights to OUT. torch_parity.py drives it.
#include <cstdio>

#include "leap/leap.h"

int main(int argc, char** argv) try {
  if (argc != 5) {
    std::fprintf(stderr, "usage: parity_tool MODEL_SPEC INIT.safetensors DATA.safetensors OUT.safetensors\n");
    return 2;
  }
  using namespace leap;
  Sequential model = Sequential::from_spec(argv[1]);
  load_weights(model, argv[2]);
  TensorMap data = load_safetensors(argv[3]);
  const Tensor images = data.at("images"), labels = data.at("labels");
  const int64_t batch = int64_t(data.at("batch").to_label_vector().at(0));
  const int64_t steps = images.dim(0) / batch;

  TensorMap out;
  model.eval();
  out["logits_init"] = model.forward(images.rows(0, batch)).clone();
  model.train();

  Adam optimizer(model.parameters(), {.lr = 1e-3f});
  CrossEntropyLoss criterion;
  std::vector<float> losses;
  for (int64_t step = 0; step < steps; ++step) {
    const int64_t begin = step * batch;
    optimizer.zero_grad();
    Tensor logits = model.forward(images.rows(begin, begin + batch));
    LossValue loss = criterion(model, logits, labels.rows(begin, begin + batch));
    loss.backward();
    optimizer.step();
    losses.push_back(float(loss.item()));
  }
  out["losses"] = Tensor::from_vector({steps}, losses);
  for (Parameter* p : model.parameters()) out[p->name] = p->value;
  save_safetensors(argv[4], out);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "parity_tool: %s\n", e.what());
  return 1;
}
