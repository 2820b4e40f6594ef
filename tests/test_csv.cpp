// CSV data sets: a valid file, and each way a file can be wrong, with the message it gets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "error_matchers.h"
#include "leap/csv.h"
#include "leap/data_files.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

std::string write_file(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / ("leap_csv_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

TEST(Csv, ReadsFeaturesAndLabelsByColumnName) {
  const std::string path = write_file("good.csv", "a, \"label\" ,b\r\n0.5,2,3\r\n\n-1e-3,0,  7 \n");
  Dataset data = read_csv_dataset(path);
  EXPECT_EQ(data.images.shape(), (Shape{2, 2}));
  EXPECT_EQ(data.images.to_vector(), (std::vector<float>{0.5f, 3.0f, -1e-3f, 7.0f}));
  EXPECT_EQ(data.labels.to_label_vector(), (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(data.classes, 3);
  Dataset by_other_name = read_csv_dataset(path, "b");
  EXPECT_EQ(by_other_name.labels.to_label_vector(), (std::vector<int32_t>{3, 7}));
  EXPECT_EQ(by_other_name.images.to_vector(), (std::vector<float>{0.5f, 2.0f, -1e-3f, 0.0f}));
  fs::remove(path);
}

TEST(Csv, RejectsMalformedFilesNamingLineAndColumn) {
  struct Case {
    std::string text;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"", {"empty file", "header"}},
      {"x,y\n1,2\n", {"no column named 'label'", "'x', 'y'", "--label-column"}},
      {"label\n1\n", {"no features"}},
      {"a,label\n", {"a header but no samples"}},
      {"a,label,label\n1,2,3\n", {"two columns are named 'label'"}},
      {"a,label\n1,2\n3\n", {"line 3 has 1 fields, the header has 2"}},
      {"a,label\n1,2,3\n", {"line 2 has 3 fields"}},
      {"a,label\nabc,1\n", {"line 2, column 1 ('a'): 'abc' is not a finite number"}},
      {"a,label\n,1\n", {"line 2, column 1", "'' is not a finite number"}},
      {"a,label\nnan,1\n", {"'nan' is not a finite number"}},
      {"a,label\ninf,1\n", {"'inf' is not a finite number"}},
      {"a,label\n1e99,1\n", {"'1e99' is not a finite number"}},
      {"a,label\n1,-1\n", {"column 2 ('label'): label '-1' is not a class index"}},
      {"a,label\n1,1.5\n", {"label '1.5' is not a class index"}},
      {"a,label\n1,99999999999\n", {"label '99999999999' is not a class index"}},
      {std::string("a,label\n1\0,2\n", 12), {"NUL byte at offset 9", "binary"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = write_file("bad" + std::to_string(i) + ".csv", cases[i].text);
    std::vector<std::string> words = cases[i].words;
    words.push_back(path);
    expect_contains(error_of([&] { read_csv_dataset(path); }), words);
    fs::remove(path);
  }
  expect_contains(error_of([] { read_csv_dataset("/nonexistent/x.csv"); }), {"x.csv: file does not exist"});
}

TEST(DataFiles, FormatByNameOrExtension) {
  EXPECT_EQ(data_format("auto", "a/b.csv"), DataFormat::csv);
  EXPECT_EQ(data_format("auto", "b.npy"), DataFormat::npy);
  EXPECT_EQ(data_format("auto", "some/dir"), DataFormat::idx);
  EXPECT_EQ(data_format("csv", "b.txt"), DataFormat::csv);
  expect_contains(error_of([] { data_format("parquet", "x"); }), {"unknown data format 'parquet'"});
  expect_contains(error_of([] { load_data_files({.data = "x.npy"}); }), {"--labels"});
}

}  // namespace
}  // namespace leap
