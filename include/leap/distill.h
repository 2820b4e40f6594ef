// Distiller: Keras' knowledge-distillation recipe over leap's engine. The frozen teacher's
// logits over the training set are computed once, kept on the student's device as the
// data's soft targets, and the student trains on
// alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) + (1 - alpha) * CE(student, y).
#pragma once

#include "leap/model.h"

namespace leap {

struct DistillerOptions {
  float temperature = 2.0f;
  float alpha = 0.5f;
};

class Distiller {
 public:
  Distiller(Sequential& teacher, Model& student, DistillerOptions options = {});

  void compile(OptimizerFactory optimizer, std::vector<std::string> metrics = {"accuracy"});
  // Trains the student; the teacher runs forward only, once over `train`.
  History fit(const Dataset& train, const FitOptions& options);
  // `train` on the student's device with the teacher's logits as its soft targets: what fit
  // trains on, for training the student beside other models (fit_many, sweep.h).
  Dataset training_data(const Dataset& train);
  Evaluation evaluate(const Dataset& data) { return student_.evaluate(data); }

 private:
  Sequential& teacher_;
  Model& student_;
  DistillerOptions options_;
};

}  // namespace leap
