// The seed workload written the PyTorch way: zero_grad / forward / loss / backward / step.
#include <cstdio>

#include "leap/leap.h"

int main() {
  using namespace leap;
  MnistSplits data = load_mnist_dir(default_data_dir());
  Sequential model;
  Random init(0);
  model.emplace<Linear>(784, 128, init).emplace<ReLU>().emplace<Linear>(128, 10, init);
  CrossEntropyLoss criterion;
  Adam optimizer(model.parameters(), {.lr = 1e-3f});
  DataLoader loader(data.train, {.batch_size = 64, .shuffle = true});

  for (int epoch = 0; epoch < 10; ++epoch) {
    loader.start_epoch(epoch);
    Tensor images, labels;
    double total = 0;
    int steps = 0;
    while (loader.next(images, labels)) {
      optimizer.zero_grad();
      Tensor logits = model.forward(images);
      LossValue loss = criterion(model, logits, labels);
      loss.backward();
      optimizer.step();
      total += loss.item();
      ++steps;
    }
    std::printf("epoch %d: loss %.4f\n", epoch + 1, total / steps);
  }
}
