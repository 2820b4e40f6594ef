// One epoch of Model::fit: the backend's fast path for the full batches it takes, layer by
// layer for the rest; checks, checkpoints and stop requests between steps.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <limits>

#include "leap/dropout.h"
#include "leap/error.h"
#include "leap/interrupt.h"
#include "leap/model.h"
#include "parallel/data_parallel.h"
#include "step_checker.h"

namespace leap {
namespace {

bool checkpoint_due(const FitOptions& options, const TrainingProgress& progress) {
  return options.checkpoint_in_steps && options.checkpoint_every > 0 &&
         progress.step % options.checkpoint_every == 0;
}

// Steps the runner may take before the next step checkpoint (any number without one).
int64_t steps_to_checkpoint(const FitOptions& options, const TrainingProgress& progress) {
  if (!options.checkpoint_in_steps || options.checkpoint_every <= 0) return std::numeric_limits<int64_t>::max();
  return options.checkpoint_every - progress.step % options.checkpoint_every;
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "a stop request";
}

// A runner drew `steps` masks of every Dropout of the network (MlpLayer::dropout): count them
// as the layers' own forward calls would have.
void count_dropout_masks(Sequential& network, int64_t steps) {
  for (size_t i = 0; i < network.size(); ++i)
    if (auto* dropout = dynamic_cast<Dropout*>(&network[i]); dropout && dropout->p() > 0.0f)
      dropout->set_calls(dropout->calls() + uint64_t(steps));
}

}  // namespace

void Model::after_step(const FitOptions& options, TrainingProgress& progress, StepChecker& checker,
                       bool stopping) {
  if (!checkpoint_due(options, progress) && !stopping) return;
  checker.settle(progress);
  if (!options.checkpoint_path.empty()) save_checkpoint(options, progress);
  if (!stopping) return;
  throw Interrupted("stopped by " + signal_name(stop_signal()) + " after step " +
                    std::to_string(progress.step) + " (epoch " + std::to_string(progress.epoch + 1) +
                    ", batch " + std::to_string(progress.batch) + "); " +
                    (options.checkpoint_path.empty()
                         ? "no checkpoint path was given, so nothing was saved"
                         : "checkpoint written to " + options.checkpoint_path));
}

EpochLogs Model::train_epoch(DataLoader& loader, MlpEpochRunner* runner,
                             const FitOptions& options, TrainingProgress& progress,
                             DataParallel& parallel) {
  Optimizer& optimizer = *optimizer_;
  Backend& engine = backend(device());
  StepChecker checker(network_, options.on_nan, last_checkpoint_, options.communicator);
  const int64_t steps = loader.batches_per_epoch();
  for (Callback* callback : options.callbacks)
    callback->on_epoch_begin(progress.epoch + 1, options.epochs, steps);
  // The energy readings stay outside the timed interval: one takes milliseconds.
  const std::optional<double> joules_at_start = energy_meter_ ? energy_meter_->joules() : std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_batch = progress.batch;
  network_.train();
  loader.start_epoch(progress.epoch, progress.batch);
  // Bookkeeping after the runner ran `count` steps over `rows` samples (the loader already
  // past them): the loss read and checked, callbacks, checkpoints and stop requests.
  auto runner_ran = [&](int64_t count, int64_t rows) {
    optimizer.advance(count);
    count_dropout_masks(network_, count);
    network_.zero_grad();
    const int64_t first_step = progress.step + 1;
    progress.batch += count;
    progress.step += count;
    progress.seen += rows;
    checker.check_chunk(progress, first_step);
    for (Callback* callback : options.callbacks) callback->on_batch_end(progress.batch, steps);
    after_step(options, progress, checker, stop_requested());
  };
  while (runner && loader.full_batches_left() > 0) {
    const int64_t chunk = std::min({loader.full_batches_left(), runner->chunk_steps(),
                                    steps_to_checkpoint(options, progress)});
    // The runner takes batches by index: the loader stands at batch progress.batch.
    runner->run(loader.order(), progress.batch, chunk, optimizer.steps(), optimizer.lr(), checker.loss_sum(),
                checker.correct());
    loader.skip_batches(chunk);
    runner_ran(chunk, chunk * options.batch_size);
  }
  // The last, partial batch on the runner when it takes it.
  const int64_t rest = runner ? loader.partial_batch_rows() : 0;
  if (rest > 0 && runner->run_partial_batch(loader.order(), loader.position(), rest, optimizer.steps(),
                                            optimizer.lr(), checker.loss_sum(), checker.correct())) {
    loader.skip_partial_batch();
    runner_ran(1, rest);
  }
  // What the runner does not take (all of it without one, else the last partial batch).
  Tensor images, labels, soft_targets;
  while (loader.next(images, labels, &soft_targets)) {
    optimizer.zero_grad();
    const int64_t rows = images.dim(0);
    if (rows > 0) {
      Tensor logits = network_.forward(images);
      Tensor grad(logits.shape(), DType::float32, device());
      if (distillation_)
        engine.distillation_loss(logits.data(), soft_targets.data(), labels.labels(), grad.data(),
                                 checker.loss_sum(), checker.correct(), int(rows),
                                 int(logits.dim(1)), distillation_->temperature(),
                                 distillation_->alpha());
      else
        engine.cross_entropy(logits.data(), labels.labels(), grad.data(), checker.loss_sum(),
                             checker.correct(), int(rows), int(logits.dim(1)));
      parallel.backward(grad, rows, loader.batch_samples());
    } else {
      parallel.backward_without_rows();
    }
    ++progress.batch;
    ++progress.step;
    // Ranks see a signal at different moments: they agree once a step, and all stop at the
    // first step at which any of them had seen it. Alone, a request made by a callback
    // below stops this very step.
    const bool stop_seen = parallel.any(stop_requested());
    const bool read_now = checkpoint_due(options, progress) || stop_seen || progress.batch == steps;
    if (checker.check_step(progress, loader.batch_samples(), read_now)) optimizer.step();
    for (Callback* callback : options.callbacks) callback->on_batch_end(progress.batch, steps);
    after_step(options, progress, checker, parallel.shared() ? stop_seen : stop_requested());
  }
  checker.settle(progress);  // waits for the epoch's last step
  EpochLogs logs;
  logs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::optional<double> joules_at_end = energy_meter_ ? energy_meter_->joules() : std::nullopt;
  if (joules_at_start && joules_at_end) {
    logs.joules = *joules_at_end - *joules_at_start;
    logs.energy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  logs.samples = progress.seen;
  logs.epoch = progress.epoch + 1;
  logs.epochs = options.epochs;
  logs.loss = progress.loss_sum / double(progress.seen);
  logs.accuracy = double(progress.correct) / double(progress.seen);
  logs.steps = progress.batch;
  logs.us_per_step = logs.seconds * 1e6 / double(std::max<int64_t>(progress.batch - first_batch, 1));
  logs.lr = optimizer.lr();
  return logs;
}

}  // namespace leap
