#include "training_options.h"

#include "commands.h"

namespace leap::cli {

CLI::Option* add_epochs_option(CLI::App* command, int& epochs, const std::string& help, const std::string& name) {
  return command->add_option(name, epochs, help)->capture_default_str()->check(CLI::Range(1, 1000000));
}

CLI::Option* add_batch_size_option(CLI::App* command, int& batch_size, const std::string& help) {
  return command->add_option("--batch-size", batch_size, help)->capture_default_str()->check(CLI::Range(1, 1 << 24));
}

CLI::Option* add_lr_option(CLI::App* command, float& lr) {
  return command->add_option("--lr", lr, "Learning rate")
      ->capture_default_str()->check(finite_non_negative & CLI::Range(0.0, 1e6));
}

CLI::Option* add_weight_decay_option(CLI::App* command, float& weight_decay, const std::string& help) {
  return command->add_option("--weight-decay", weight_decay, help)->capture_default_str()->check(finite_non_negative);
}

CLI::Option* add_schedule_option(CLI::App* command, std::string& schedule, const std::string& help,
                                 const std::string& name) {
  return command->add_option(name, schedule, help)
      ->capture_default_str()->check(CLI::IsMember({"none", "step", "cosine"}));
}

CLI::Option* add_device_option(CLI::App* command, std::string& device) {
  return command->add_option("--device", device)->capture_default_str()->check(CLI::IsMember({"cpu", "cuda", "auto"}));
}

CLI::Option* add_seed_option(CLI::App* command, uint64_t& seed, const std::string& help) {
  return command->add_option("--seed", seed, help)->capture_default_str()->check(digits_only);
}

}  // namespace leap::cli
