// Data sets from files in any format leap reads, chosen by name or by the path's extension:
// IDX (a directory of MNIST files), CSV (.csv) or NumPy (.npy features and labels).
#pragma once

#include <string>

#include "leap/idx.h"

namespace leap {

enum class DataFormat { idx, csv, npy };

// "idx", "csv" or "npy"; "auto" looks at `path`: .csv is CSV, .npy is NumPy, anything else
// (a directory) IDX. Throws leap::Error for other names.
DataFormat data_format(const std::string& name, const std::string& path);

struct DataFiles {
  std::string format = "auto";
  // IDX: a directory with the train- and t10k- files (t10k is the validation split).
  // CSV: the training file. NumPy: the training features.
  std::string data;
  std::string labels;  // NumPy: the training labels
  // CSV and NumPy: an optional validation split, in the same format.
  std::string validation_data, validation_labels;
  std::string label_column = "label";  // CSV
};

// The training split and the validation split (empty when CSV or NumPy data names none).
MnistSplits load_data_files(const DataFiles& files);

}  // namespace leap
