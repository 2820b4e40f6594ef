#include "leap/distill.h"

#include "leap/error.h"

namespace leap {

Distiller::Distiller(Sequential& teacher, Model& student, DistillerOptions options)
    : teacher_(teacher), student_(student), options_(options) {
  check(teacher.input_width() == student.network().input_width() &&
            teacher.output_width() == student.network().output_width(),
        "distillation: the teacher maps " + std::to_string(teacher.input_width()) + " to " +
            std::to_string(teacher.output_width()) + " but the student " +
            std::to_string(student.network().input_width()) + " to " +
            std::to_string(student.network().output_width()));
}

void Distiller::compile(OptimizerFactory optimizer, std::vector<std::string> metrics) {
  student_.compile(std::move(optimizer), DistillationLoss(options_.temperature, options_.alpha),
                   std::move(metrics));
}

Dataset Distiller::training_data(const Dataset& train) {
  Dataset with_targets = train.to(student_.device());
  with_targets.soft_targets = predict_logits(teacher_, train.images).to(student_.device());
  return with_targets;
}

History Distiller::fit(const Dataset& train, const FitOptions& options) {
  return student_.fit(training_data(train), options);
}

}  // namespace leap
