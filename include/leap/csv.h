// CSV data sets: a header row naming the columns, then one sample a row. The label column
// (chosen by name) holds class indices; every other column is a numeric feature.
#pragma once

#include <string>

#include "leap/data.h"

namespace leap {

// Reads `path` into a data set (classes: the largest label + 1). Fields are separated by
// commas; header names may be in double quotes; spaces around fields and CRLF line ends are
// allowed. A row of the wrong width, a field that is not a finite number, or a label that
// is not a non-negative integer is a leap::Error naming the file, line and column.
Dataset read_csv_dataset(const std::string& path, const std::string& label_column = "label");

}  // namespace leap
