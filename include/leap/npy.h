// NumPy .npy arrays (format versions 1, 2 and 3): little-endian f4, f8, u1, i4 and i8 in
// C order. Pickled object arrays, Fortran order and big-endian data are refused, and every
// size in the header is checked against the file's length before anything is allocated.
#pragma once

#include <string>

#include "leap/tensor.h"

namespace leap {

// Features: an array of two or more dimensions as float32 [n, product of the rest]
// (values as stored: u1 pixels are not scaled).
Tensor read_npy_features(const std::string& path);

// Labels: a one-dimensional integer array (u1, i4, i8) as int32 [n].
Tensor read_npy_labels(const std::string& path);

}  // namespace leap
