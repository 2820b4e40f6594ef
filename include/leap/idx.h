// IDX files (the MNIST format), plain or gzipped, read into CPU tensors.
// Every size in a header is checked against the real length of the data before anything
// is allocated, so a corrupt or hostile file fails fast with a leap::Error naming it.
#pragma once

#include <string>

#include "leap/data.h"
#include "leap/tensor.h"

namespace leap {

// Images (magic 2051: unsigned bytes, 3 dims) as float32 [n, rows*cols], scaled by 1/255.
Tensor read_idx_images(const std::string& path);

// Labels (magic 2049: unsigned bytes, 1 dim) as int32 [n].
Tensor read_idx_labels(const std::string& path);

// An image file and its label file as one data set; counts must agree and every label
// must lie in [0, classes).
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      int classes = 10);

struct MnistSplits {
  Dataset train, test;
};

// The four MNIST files of `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), each plain or with ".gz".
MnistSplits load_mnist_dir(const std::string& dir);

// Where Debian's dataset-fashion-mnist puts the files, unless LEAP_DATA_DIR says otherwise.
std::string default_data_dir();

}  // namespace leap
