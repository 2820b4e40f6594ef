#include <chrono>
#include <cmath>
#include <cstdio>

#include "device_sums.h"
#include "leap/error.h"
#include "leap/trainer.h"
#include "mlp_plan.h"

namespace leap {

Model::Model(Sequential network) : network_(std::move(network)) {}

void Model::compile(OptimizerFactory optimizer, CrossEntropyLoss,
                    std::vector<std::string> metrics) {
  for (const std::string& metric : metrics)
    check(metric == "accuracy", "unknown metric '" + metric + "' (leap knows 'accuracy')");
  optimizer_ = optimizer(network_.parameters());
  distillation_.reset();
}

void Model::compile(OptimizerFactory optimizer, DistillationLoss loss,
                    std::vector<std::string> metrics) {
  compile(std::move(optimizer), CrossEntropyLoss(), std::move(metrics));
  distillation_ = loss;
}

Optimizer& Model::optimizer() {
  check(optimizer_ != nullptr, "the model is not compiled: call compile() before fit()");
  return *optimizer_;
}

History Model::fit(const Dataset& train, const FitOptions& options) {
  Optimizer& optimizer = this->optimizer();
  check(options.epochs > 0, "fit: epochs must be positive, got " + std::to_string(options.epochs));
  const int classes = network_.output_width();
  check_dataset(train, network_.input_width(), classes, "training data");
  check(!distillation_ || (train.soft_targets.defined() &&
                           train.soft_targets.shape() == Shape{train.size(), classes}),
        "distillation needs the teacher's logits [" + std::to_string(train.size()) + ", " +
            std::to_string(classes) + "] as the training data's soft targets");
  if (options.validation_data)
    check_dataset(*options.validation_data, network_.input_width(), classes, "validation data");

  DataLoader loader(train.to(device()), {options.batch_size, options.shuffle, options.drop_last,
                                         options.seed});
  std::unique_ptr<MlpEpochRunner> runner = plan_runner(loader, options);
  if (options.verbose) std::printf("Training path: %s\n", training_path_.c_str());
  const float base_lr = optimizer.lr();
  History history;
  for (Callback* callback : options.callbacks) callback->on_train_begin();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    if (options.schedule) optimizer.set_lr(options.schedule->lr(epoch, base_lr));
    EpochLogs logs = train_epoch(loader, runner.get(), options, epoch);
    if (options.validation_data) {
      Evaluation validation = evaluate(*options.validation_data);
      logs.val_loss = validation.loss;
      logs.val_accuracy = validation.accuracy;
    }
    history.epochs.push_back(logs);
    bool stop = false;
    for (Callback* callback : options.callbacks) stop |= callback->on_epoch_end(logs);
    if (stop) break;
  }
  for (Callback* callback : options.callbacks) callback->on_train_end(history);
  return history;
}

EpochLogs Model::train_epoch(DataLoader& loader, MlpEpochRunner* runner,
                             const FitOptions& options, int epoch) {
  Optimizer& optimizer = *optimizer_;
  Backend& engine = backend(device());
  DeviceSums sums(engine);
  const int64_t steps = loader.batches_per_epoch();
  for (Callback* callback : options.callbacks) callback->on_epoch_begin(epoch + 1, options.epochs, steps);
  const auto start = std::chrono::steady_clock::now();
  network_.train();
  loader.start_epoch(epoch);
  int64_t step = 0, seen = 0;
  // The runner takes the full batches in chunks, so that callbacks still see progress.
  while (runner && loader.full_batches_left() > 0) {
    const int64_t chunk = std::min<int64_t>(loader.full_batches_left(), 64);
    runner->run(loader.order(), loader.position() / options.batch_size, chunk, optimizer.steps(),
                optimizer.lr(), sums.loss_sum(), sums.correct());
    optimizer.advance(chunk);
    loader.skip_batches(chunk);
    network_.zero_grad();
    step += chunk;
    seen += chunk * options.batch_size;
    for (Callback* callback : options.callbacks) callback->on_batch_end(step, steps);
  }
  // What the runner does not take (all of it without one, else the last partial batch).
  Tensor images, labels, soft_targets;
  while (loader.next(images, labels, &soft_targets)) {
    optimizer.zero_grad();
    Tensor logits = network_.forward(images);
    Tensor grad(logits.shape(), DType::float32, device());
    if (distillation_)
      engine.distillation_loss(logits.data(), soft_targets.data(), labels.labels(), grad.data(),
                               sums.loss_sum(), sums.correct(), int(logits.dim(0)),
                               int(logits.dim(1)), distillation_->temperature(),
                               distillation_->alpha());
    else
      engine.cross_entropy(logits.data(), labels.labels(), grad.data(), sums.loss_sum(),
                           sums.correct(), int(logits.dim(0)), int(logits.dim(1)));
    network_.backward(grad);
    optimizer.step();
    seen += images.dim(0);
    ++step;
    for (Callback* callback : options.callbacks) callback->on_batch_end(step, steps);
  }
  const DeviceSums::Values totals = sums.read();  // waits for the epoch's last step
  EpochLogs logs;
  logs.epoch = epoch + 1;
  logs.epochs = options.epochs;
  logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  logs.loss = totals.loss_sum / double(seen);
  logs.accuracy = double(totals.correct) / double(seen);
  logs.steps = step;
  logs.us_per_step = logs.seconds * 1e6 / double(step);
  logs.lr = optimizer.lr();
  check(std::isfinite(logs.loss), "training loss became " + std::to_string(logs.loss) +
                                      " in epoch " + std::to_string(epoch + 1) +
                                      " (try a lower learning rate)");
  return logs;
}

std::unique_ptr<MlpEpochRunner> Model::plan_runner(const DataLoader& loader,
                                                   const FitOptions& options) {
  std::string why_not = distillation_ ? "the fast path knows cross-entropy only" : "fast path turned off";
  if (options.fast_path && !distillation_) {
    std::optional<MlpEpochPlan> plan =
        describe_mlp_epoch(network_, *optimizer_, loader.data(), options.batch_size, &why_not);
    if (plan) {
      std::unique_ptr<MlpEpochRunner> runner = backend(device()).plan_mlp_epoch(*plan);
      if (runner) {
        training_path_ = runner->describe();
        return runner;
      }
      why_not = "the " + to_string(device()) + " backend has no fast path";
    }
  }
  training_path_ = "layer by layer (" + why_not + ")";
  return nullptr;
}

Evaluation Model::evaluate(const Dataset& data, int batch_size) {
  check(batch_size > 0, "evaluate: batch size must be positive");
  const Dataset local = data.to(device());
  const int classes = network_.output_width();
  check(local.features() == network_.input_width() && local.labels.dim(0) == local.size(),
        "evaluate: data of " + std::to_string(local.features()) + " features and " +
            std::to_string(local.labels.dim(0)) + " labels for a model with " +
            std::to_string(network_.input_width()) + " inputs");
  Backend& engine = backend(device());
  DeviceSums sums(engine);
  network_.eval();
  for (int64_t begin = 0; begin < local.size(); begin += batch_size) {
    const int64_t end = std::min<int64_t>(begin + batch_size, local.size());
    Tensor logits = network_.forward(local.images.rows(begin, end));
    engine.cross_entropy(logits.data(), local.labels.labels() + begin, nullptr, sums.loss_sum(),
                         sums.correct(), int(end - begin), classes);
  }
  network_.train();
  const DeviceSums::Values totals = sums.read();
  return {totals.loss_sum / double(local.size()), double(totals.correct) / double(local.size()),
          local.size()};
}

Tensor predict_logits(Sequential& network, const Tensor& images, int batch_size) {
  check(images.rank() == 2 && images.dim(1) == network.input_width(),
        "predict: images of shape " + to_string(images.shape()) + " for a model with " +
            std::to_string(network.input_width()) + " inputs");
  check(batch_size > 0, "predict: batch size must be positive");
  const Tensor local = images.to(network.device());
  Tensor logits({local.dim(0), network.output_width()}, DType::float32, network.device());
  const bool training = network.training();
  network.eval();
  for (int64_t begin = 0; begin < local.dim(0); begin += batch_size) {
    const int64_t end = std::min<int64_t>(begin + batch_size, local.dim(0));
    logits.rows(begin, end).copy_from(network.forward(local.rows(begin, end)));
  }
  network.train(training);
  return logits;
}

Tensor Model::predict(const Tensor& images, int batch_size) {
  return predict_logits(network_, images, batch_size).to(images.device());
}

}  // namespace leap
