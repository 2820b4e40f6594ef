// Configuration files: the TOML subset leap reads, each value kind spelled as a command line
// would take it, arrays of tables, and malformed text refused with the file and line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "error_matchers.h"
#include "leap/config_file.h"

namespace leap {
namespace {

using Kind = ConfigValue::Kind;

TEST(ConfigFile, ReadsEachKindOfValue) {
  const std::vector<ConfigValue> values = parse_config(
      "# a comment\n"
      "model = \"784-128-10\"  # trailing comment\n"
      "\n"
      "  data = 'C:\\raw\\path'\r\n"
      "epochs = 1_000\n"
      "lr = +1.5e-3\n"
      "seed = -0\n"
      "drop-last = true\n"
      "name = \"tab\\t quote\\\" \\u00e9\"\n",
      "run.toml").values;
  ASSERT_EQ(values.size(), 7u);
  const std::vector<std::tuple<std::string, Kind, std::string, int>> expected = {
      {"model", Kind::string, "784-128-10", 2},  {"data", Kind::string, "C:\\raw\\path", 4},
      {"epochs", Kind::integer, "1000", 5},      {"lr", Kind::floating, "1.5e-3", 6},
      {"seed", Kind::integer, "-0", 7},          {"drop-last", Kind::boolean, "true", 8},
      {"name", Kind::string, "tab\t quote\" \xC3\xA9", 9}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(values[i].key, std::get<0>(expected[i]));
    EXPECT_EQ(values[i].kind, std::get<1>(expected[i])) << values[i].key;
    EXPECT_EQ(values[i].text, std::get<2>(expected[i]));
    EXPECT_EQ(values[i].line, std::get<3>(expected[i]));
  }
}

TEST(ConfigFile, StringsRoundTripThroughTomlString) {
  const std::string text = "quote \" backslash \\ tab \t newline \n bell \x07 end";
  const std::vector<ConfigValue> values = parse_config("key = " + toml_string(text) + "\n", "x.toml").values;
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].text, text);
}

TEST(ConfigFile, ReadsArraysOfTablesAfterTheTopLevel) {
  const ConfigFile file = parse_config(
      "port = 8000\n"
      "\n"
      "[[models]]  # the first\n"
      "name = \"a\"\n"
      "load = 'a.safetensors'\n"
      "[[ models ]]\n"
      "name = \"b\"\n"
      "port = 1\n"  // a key of the entry, not of the top level
      "[[other]]\n",
      "serve.toml");
  ASSERT_EQ(file.values.size(), 1u);
  EXPECT_EQ(file.values[0].key, "port");
  ASSERT_EQ(file.entries.size(), 3u);
  EXPECT_EQ(file.entries[0].array, "models");
  EXPECT_EQ(file.entries[0].line, 3);
  ASSERT_EQ(file.entries[0].values.size(), 2u);
  EXPECT_EQ(file.entries[0].values[1].key, "load");
  EXPECT_EQ(file.entries[0].values[1].text, "a.safetensors");
  EXPECT_EQ(file.entries[0].values[1].line, 5);
  EXPECT_EQ(file.entries[1].array, "models");
  ASSERT_EQ(file.entries[1].values.size(), 2u);
  EXPECT_EQ(file.entries[1].values[1].key, "port");
  EXPECT_EQ(file.entries[2].array, "other");
  EXPECT_TRUE(file.entries[2].values.empty());
}

TEST(ConfigFile, KnowsTomlNumbers) {
  for (const char* number : {"0", "-12", "1_000", "0.5", "1e-05", "-1.5E+3", "inf", "-nan"})
    EXPECT_TRUE(is_toml_number(number)) << number;
  for (const char* other : {"", ".5", "1.", "012", "0x10", "1__0", "_1", "1e", "one", "1,5"})
    EXPECT_FALSE(is_toml_number(other)) << other;
}

TEST(ConfigFile, RefusesMalformedLinesNamingFileAndLine) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"\n\nepochs 3\n", {"run.toml:3:", "expected '=' after the key 'epochs'"}},
      {"epochs =\n", {"run.toml:1:", "'epochs' has no value"}},
      {"model = \"784\n", {"run.toml:1:", "no closing '\"'"}},
      {"model = 'x\n", {"run.toml:1:", "no closing"}},
      {"model = 784-128-10\n", {"784-128-10 is not a value leap reads", "strings need quotes"}},
      {"epochs = 3 4\n", {"unexpected '4' after the value of 'epochs'"}},
      {"[train]\nepochs = 3\n", {"run.toml:1:", "tables ('[train]') are not used"}},
      {"a.b = 1\n", {"dotted key"}},
      {"\"epochs\" = 1\n", {"quoted keys are not used"}},
      {"runs = [1, 2]\n", {"arrays and inline tables are not used"}},
      {"x = \"\"\"long\"\"\"\n", {"multi-line strings"}},
      {"x = \"\\q\"\n", {"unknown escape '\\q'"}},
      {"x = \"\\u12\"\n", {"\\u needs 4 hexadecimal digits"}},
      {"x = \"\\uD800\"\n", {"not a Unicode scalar value"}},
      {"epochs = 1\nepochs = 2\n", {"run.toml:2:", "'epochs' is set twice (first on line 1)"}},
      {"[[m]]\nname = \"a\"\nname = \"b\"\n", {"run.toml:3:", "'name' is set twice (first on line 2)"}},
      {"[[]]\n", {"run.toml:1:", "expected a name between '[[' and ']]'"}},
      {"[[m]\n", {"expected ']]' after '[[m'"}},
      {"[[m.n]]\n", {"dotted name"}},
      {"[[m]] x\n", {"unexpected 'x' after '[[m]]'"}},
      {"[[\"m\"]]\n", {"expected a name between"}},
      {"epochs = 012\n", {"012 is not a value leap reads"}},
      {"when = 1979-05-27\n", {"1979-05-27 is not a value leap reads"}},
      {std::string("a = 1\n\0\x01\x02", 9), {"run.toml:2:", "control character 0x00", "binary"}},
  };
  for (const auto& entry : cases) {  // a lambda may not capture a structured binding on older clang
    const auto& text = entry.first;
    expect_contains(error_of([&] { parse_config(text, "run.toml"); }), entry.second);
  }
}

TEST(ConfigFile, RefusesWhatIsNotAFile) {
  expect_contains(error_of([] { read_config_file("/nonexistent/run.toml"); }), {"run.toml", "does not exist"});
  expect_contains(error_of([] { read_config_file("/dev/zero"); }), {"/dev/zero", "not a regular file"});
  // Refused by its size before it is read.
  const std::filesystem::path big =
      std::filesystem::temp_directory_path() / ("leap_big_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(big) << std::string(2 << 20, '#');
  expect_contains(error_of([&] { read_config_file(big.string()); }),
                  {"2097152 bytes, more than a configuration file of at most 1048576 bytes holds"});
  std::filesystem::remove(big);
}

}  // namespace
}  // namespace leap
