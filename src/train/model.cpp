#include <cstdio>

#include "parallel/data_parallel.h"
#include "device_sums.h"
#include "leap/error.h"
#include "leap/model.h"
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

namespace {

LoaderOptions loader_options(const FitOptions& options) {
  return {options.batch_size, options.shuffle, options.drop_last, options.seed};
}

}  // namespace

History Model::fit(const Dataset& train, const FitOptions& options, DataChecked checked) {
  Optimizer& optimizer = this->optimizer();
  check(options.epochs > 0, "fit: epochs must be positive, got " + std::to_string(options.epochs));
  check(options.checkpoint_every >= 0 && (options.checkpoint_every == 0 || !options.checkpoint_path.empty()),
        "fit: checkpoint_every needs a checkpoint_path and must not be negative");
  const int classes = network_.output_width();
  if (checked == DataChecked::no) check_dataset(train, network_.input_width(), classes, "training data");
  check(!distillation_ || (train.soft_targets.defined() &&
                           train.soft_targets.shape() == Shape{train.size(), classes}),
        "distillation needs the teacher's logits [" + std::to_string(train.size()) + ", " +
            std::to_string(classes) + "] as the training data's soft targets");
  if (options.validation_data && checked == DataChecked::no)
    check_dataset(*options.validation_data, network_.input_width(), classes, "validation data");

  TrainingProgress progress;
  last_checkpoint_.clear();
  if (!options.resume_from.empty()) {
    progress = load_training_checkpoint(options.resume_from, network_, optimizer, loader_options(options));
    check(progress.epoch < options.epochs,
          options.resume_from + ": the checkpoint has finished " + std::to_string(progress.epoch) +
              " epochs; with " + std::to_string(options.epochs) +
              " epochs in all there is nothing left to train (raise the epoch count)");
    last_checkpoint_ = options.resume_from + " (step " + std::to_string(progress.step) + ")";
    if (options.verbose)
      std::printf("Resuming from %s: epoch %d, batch %lld (step %lld)\n", options.resume_from.c_str(),
                  progress.epoch + 1, static_cast<long long>(progress.batch),
                  static_cast<long long>(progress.step));
  }
  const Precision precision = options.precision.value_or(backend(device()).default_precision());
  network_.set_precision(precision);
  DataParallel parallel(options.communicator, network_);
  check(options.batch_size >= parallel.ranks(),
        "fit: a batch of " + std::to_string(options.batch_size) + " samples cannot be shared by " +
            std::to_string(parallel.ranks()) + " ranks (the batch size is the global batch)");
  parallel.make_replicas_equal(optimizer);
  DataLoader loader(train.to(device()), loader_options(options));
  loader.shard(parallel.rank(), parallel.ranks());
  std::unique_ptr<MlpEpochRunner> runner = plan_runner(loader, options);
  if (options.verbose)
    std::printf("Precision: %s%s\nTraining path: %s\n", to_string(precision).c_str(),
                options.precision ? "" : " (the device's default)", training_path_.c_str());
  energy_meter_ = energy_meter(device(), &energy_source_);
  if (energy_meter_) energy_source_ = energy_meter_->source();
  const float base_lr = optimizer.lr();
  History history;
  for (Callback* callback : options.callbacks) callback->on_train_begin();
  for (int epoch = progress.epoch; epoch < options.epochs; ++epoch) {
    if (options.schedule) optimizer.set_lr(options.schedule->lr(epoch, base_lr));
    EpochLogs logs = train_epoch(loader, runner.get(), options, progress, parallel);
    if (epoch + 1 < options.epochs) loader.prepare_epoch(epoch + 1);  // beside the validation
    if (options.validation_data) {
      Evaluation validation = evaluate(*options.validation_data, 1024, options.communicator);
      logs.val_loss = validation.loss;
      logs.val_accuracy = validation.accuracy;
    }
    history.epochs.push_back(logs);
    progress = {.epoch = epoch + 1, .step = progress.step};
    if (options.checkpoint_every > 0 && !options.checkpoint_in_steps &&
        (epoch + 1) % options.checkpoint_every == 0)
      save_checkpoint(options, progress);
    bool stop = false;
    for (Callback* callback : options.callbacks) stop |= callback->on_epoch_end(logs);
    if (stop) break;
  }
  const std::string end_mark = options.checkpoint_path + " (step " + std::to_string(progress.step) + ")";
  if (options.checkpoint_at_end && !options.checkpoint_path.empty() && last_checkpoint_ != end_mark)
    save_checkpoint(options, progress);
  for (Callback* callback : options.callbacks) callback->on_train_end(history);
  return history;
}

void Model::save_checkpoint(const FitOptions& options, const TrainingProgress& progress) {
  // Replicas are equal: rank 0 writes for all (where every rank could see the others' file).
  if (!options.communicator || options.communicator->rank() == 0)
    save_training_checkpoint(options.checkpoint_path, network_, *optimizer_, progress,
                             loader_options(options));
  last_checkpoint_ = options.checkpoint_path + " (step " + std::to_string(progress.step) + ")";
}

std::unique_ptr<MlpEpochRunner> Model::plan_runner(const DataLoader& loader,
                                                   const FitOptions& options) {
  const bool shared = options.communicator && options.communicator->ranks() > 1;
  std::string why_not = options.on_nan == NanPolicy::skip ? "--on-nan skip checks every step"
                        : shared ? "data-parallel: gradients are averaged layer by layer as backward runs"
                                 : "fast path turned off";
  if (options.fast_path && options.on_nan != NanPolicy::skip && !shared) {
    std::optional<MlpEpochPlan> plan =
        describe_mlp_epoch(network_, *optimizer_, loader.data(), options.batch_size, &why_not);
    if (plan && distillation_) {
      plan->soft_targets = loader.data().soft_targets.data();
      plan->temperature = distillation_->temperature();
      plan->alpha = distillation_->alpha();
    }
    if (plan) {
      std::unique_ptr<MlpEpochRunner> runner = backend(device()).plan_mlp_epoch(*plan, &why_not);
      if (runner) {
        training_path_ = runner->describe();
        return runner;
      }
    }
  }
  training_path_ = "layer by layer (" + why_not + ")";
  return nullptr;
}

Evaluation Model::evaluate(const Dataset& data, int batch_size, Communicator* communicator) {
  check(batch_size > 0, "evaluate: batch size must be positive");
  const Dataset local = data.to(device());
  const int classes = network_.output_width();
  check(local.features() == network_.input_width() && local.labels.dim(0) == local.size(),
        "evaluate: data of " + std::to_string(local.features()) + " features and " +
            std::to_string(local.labels.dim(0)) + " labels for a model with " +
            std::to_string(network_.input_width()) + " inputs");
  Backend& engine = backend(device());
  DeviceSums sums(engine);
  const Shard mine = communicator ? shard_of(local.size(), communicator->rank(), communicator->ranks())
                                   : Shard{0, local.size()};
  network_.eval();
  for (int64_t begin = mine.begin; begin < mine.end; begin += batch_size) {
    const int64_t end = std::min<int64_t>(begin + batch_size, mine.end);
    Tensor logits = network_.forward(local.images.rows(begin, end));
    engine.cross_entropy(logits.data(), local.labels.labels() + begin, nullptr, sums.loss_sum(),
                         sums.correct(), int(end - begin), classes);
  }
  network_.train();
  const DeviceSums::Values mine_totals = sums.read();
  double totals[2] = {mine_totals.loss_sum, double(mine_totals.correct)};
  if (communicator) communicator->sum_on_host(totals, 2);
  return {totals[0] / double(local.size()), totals[1] / double(local.size()), local.size()};
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
