// The HTML report and the metrics CSV it is drawn from: offline, escaped, one chart line per
// run and figure, and CSVLogger's files read back as they were written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "error_matchers.h"
#include "leap/leap.h"

namespace leap {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& word) {
  size_t n = 0;
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

EpochLogs epoch(int number, double loss, double val_loss) {
  EpochLogs logs;
  logs.epoch = number;
  logs.loss = loss;
  logs.accuracy = 1 - loss;
  logs.val_loss = val_loss;
  logs.val_accuracy = std::isnan(val_loss) ? NAN : 1 - val_loss;
  logs.us_per_step = 500;
  logs.lr = 1e-3f;
  return logs;
}

TEST(Report, ChartsEveryRunAndEscapesText) {
  Report report{"runs <compared>", {}, {}};
  report.runs.push_back({"a<b", {epoch(1, 0.6, 0.5), epoch(2, 0.4, 0.45)}});
  report.runs.push_back({"no validation", {epoch(1, 0.7, NAN), epoch(2, 0.5, NAN)}});
  report.tables.push_back({"compute", {"figure", "value"}, {{"device", "cpu & more"}}});
  const std::string html = report_html(report);
  EXPECT_EQ(count(html, "<svg"), 4u);  // loss, accuracy, learning rate, step time
  // Loss and accuracy: a solid line per run, a dashed one for the run with validation data.
  EXPECT_EQ(count(html, "stroke-dasharray"), 2u);
  EXPECT_EQ(count(html, "<polyline"), 2u * 3 + 2u * 2);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
  EXPECT_NE(html.find("runs &lt;compared&gt;"), std::string::npos);
  EXPECT_NE(html.find("cpu &amp; more"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Report, NoRunsNoCharts) {
  const std::string html = report_html({"empty", {}, {}});
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

class MetricsCsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("leap_report_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(MetricsCsvTest, ReadsWhatCsvLoggerWrote) {
  {
    CSVLogger logger(path("metrics.csv"), ';');
    EpochLogs first = epoch(1, 0.625, 0.5);
    first.steps = 938;
    first.seconds = 1.5;
    logger.on_epoch_end(first);
    logger.on_epoch_end(epoch(2, 0.375, NAN));
  }
  const std::vector<EpochLogs> rows = read_metrics_csv(path("metrics.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].epoch, 1);
  EXPECT_EQ(rows[0].epochs, 2);
  EXPECT_DOUBLE_EQ(rows[0].loss, 0.625);
  EXPECT_DOUBLE_EQ(rows[0].val_loss, 0.5);
  EXPECT_EQ(rows[0].steps, 938);
  EXPECT_DOUBLE_EQ(rows[0].seconds, 1.5);
  EXPECT_FLOAT_EQ(rows[0].lr, 1e-3f);
  EXPECT_TRUE(std::isnan(rows[1].val_loss));
  EXPECT_TRUE(std::isnan(rows[1].val_accuracy));
}

TEST_F(MetricsCsvTest, BadFilesSayWhereAndWhat) {
  std::ofstream(path("header.csv")) << "step,value\n1,2\n";
  expect_contains(error_of([&] { read_metrics_csv(path("header.csv")); }), {"header.csv", "no \"epoch\" column"});
  std::ofstream(path("field.csv")) << "epoch,loss\n1,0.5\n2,abc\n";
  expect_contains(error_of([&] { read_metrics_csv(path("field.csv")); }), {"field.csv:3", "\"abc\""});
  std::ofstream(path("short.csv")) << "epoch,loss\n1\n";
  expect_contains(error_of([&] { read_metrics_csv(path("short.csv")); }), {"short.csv:2", "1 fields"});
  expect_contains(error_of([&] { read_metrics_csv(path("missing.csv")); }), {"missing.csv", "cannot open"});
}

}  // namespace
}  // namespace leap
