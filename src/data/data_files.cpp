#include "leap/data_files.h"

#include <filesystem>

#include "leap/csv.h"
#include "leap/error.h"
#include "leap/npy.h"

namespace leap {
namespace {

Dataset load_split(DataFormat format, const std::string& data, const std::string& labels,
                   const std::string& label_column, const char* labels_option) {
  if (format == DataFormat::csv) return read_csv_dataset(data, label_column);
  check(!labels.empty(), data + ": NumPy features need their labels in a second .npy file (" +
                             labels_option + ")");
  Dataset split{read_npy_features(data), read_npy_labels(labels), 0, {}};
  check(split.images.dim(0) == split.labels.dim(0),
        data + " has " + std::to_string(split.images.dim(0)) + " samples but " + labels + " has " +
            std::to_string(split.labels.dim(0)) + " labels");
  const std::vector<int32_t> values = split.labels.to_label_vector();
  for (int32_t label : values) split.classes = std::max(split.classes, label + 1);
  return split;
}

}  // namespace

DataFormat data_format(const std::string& name, const std::string& path) {
  if (name == "idx") return DataFormat::idx;
  if (name == "csv") return DataFormat::csv;
  if (name == "npy") return DataFormat::npy;
  check(name == "auto", "unknown data format '" + name + "' (expected idx, csv, npy or auto)");
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".csv") return DataFormat::csv;
  if (extension == ".npy") return DataFormat::npy;
  return DataFormat::idx;
}

MnistSplits load_data_files(const DataFiles& files) {
  const std::string data = files.data.empty() ? default_data_dir() : files.data;
  const DataFormat format = data_format(files.format, data);
  if (format == DataFormat::idx) {
    check(files.validation_data.empty() && files.labels.empty(),
          data + ": IDX data is a directory holding both splits; --labels and --validation-data "
                 "are for CSV and NumPy files");
    return load_mnist_dir(data);
  }
  MnistSplits splits;
  splits.train = load_split(format, data, files.labels, files.label_column, "--labels");
  if (!files.validation_data.empty()) {
    splits.test = load_split(format, files.validation_data, files.validation_labels,
                             files.label_column, "--validation-labels");
    check(splits.test.features() == splits.train.features(),
          files.validation_data + " has " + std::to_string(splits.test.features()) +
              " features per sample but " + data + " has " + std::to_string(splits.train.features()));
  }
  return splits;
}

}  // namespace leap
