// The seed workload written the Keras way: compile / fit / evaluate / predict.
#include <cstdio>

#include "leap/leap.h"

int main() {
  using namespace leap;
  MnistSplits data = load_mnist_dir(default_data_dir());
  Model model(Sequential::from_spec("784-128-10"));
  model.compile(adam({.lr = 1e-3f}), CrossEntropyLoss(), {"accuracy"});
  EarlyStopping early_stopping("val_loss", 3);
  History history = model.fit(data.train, {.epochs = 10, .batch_size = 64,
                                           .validation_data = &data.test,
                                           .callbacks = {&early_stopping}});
  for (const EpochLogs& e : history.epochs)
    std::printf("epoch %d: loss %.4f accuracy %.4f val_accuracy %.4f\n", e.epoch, e.loss,
                e.accuracy, e.val_accuracy);
  Evaluation test = model.evaluate(data.test);
  Tensor logits = model.predict(data.test.images.rows(0, 5));
  std::printf("test accuracy %.4f; first logits row starts %.3f\n", test.accuracy,
              logits.to_vector()[0]);
}
