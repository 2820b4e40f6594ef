// leap serve's request reading: the common request's in-place reading (On-Demand) against the
// reading of every request (DOM) on fresh random requests, valid and broken: whatever the
// first accepts, the second accepts with the same values; it declines the rest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "serve/kserve_json.h"

namespace leap::serve {
namespace {

constexpr int kFeatures = 5;

// Requests as clients may write them: keys in any order, spacing, each datatype, numbers of
// every kind (long decimals, -0, past float's range, past 64 bits), ids with escapes, outputs
// with parameters; some with what only the DOM reading takes (nested data, unknown keys,
// data before its shape) or nothing does (wrong shapes, names, datatypes, counts).
class RandomRequests {
 public:
  explicit RandomRequests(uint64_t seed) : random_(seed) {}

  std::string request() {
    const int rows = 1 + int(pick(3));
    const char* datatypes[] = {"UINT8", "FP32", "FP64", "INT32"};
    const std::string datatype = datatypes[one_in(30) ? 3 : pick(3)];
    std::vector<std::string> input = {
        "\"name\":" + space() + (one_in(30) ? "\"pixels\"" : "\"input\""),
        "\"shape\":[" + std::to_string(one_in(30) ? 0 : rows) + "," + space() +
            std::to_string(one_in(30) ? kFeatures + 1 : kFeatures) + "]",
        "\"datatype\":\"" + datatype + "\"", "\"data\":" + data(rows, datatype == "UINT8")};
    if (one_in(10)) input.push_back("\"parameters\":{}");
    if (one_in(15)) input.erase(input.begin() + ptrdiff_t(pick(input.size())));
    if (one_in(4)) std::shuffle(input.begin(), input.end(), random_);
    const std::string tensor = "{" + joined(input) + "}";
    std::vector<std::string> root = {"\"inputs\":" + space() + "[" + tensor + (one_in(30) ? "," + tensor : "") + "]"};
    const char* ids[] = {"\"r1\"", "\"\"", "\"a\\\"b\\\\c\\u00e9\\n\"", "5", "\"\\ud83d\\ude00\""};
    if (one_in(3)) root.push_back(std::string("\"id\":") + ids[pick(5)]);
    if (one_in(3)) root.push_back("\"outputs\":" + outputs());
    if (one_in(4))
      root.push_back(std::string("\"parameters\":{\"binary_data_output\":") +
                     (one_in(2) ? "true" : one_in(5) ? "\"yes\"" : "false") + "}");
    if (one_in(15)) root.push_back("\"extra\":{\"a\":[1,2,{\"b\":null}]}");
    if (one_in(20)) root.push_back(root[0]);  // a key twice
    std::shuffle(root.begin(), root.end(), random_);
    return space() + "{" + joined(root) + space() + "}" + space();
  }

  // One to a few random edits among JSON's significant bytes.
  std::string broken(std::string text) {
    static const std::string bytes = "{}[],:\"\\ 0123456789.-+eEtrufalsn\x01\xff";
    do {
      const size_t at = pick(text.size() + 1);
      switch (pick(3)) {
        case 0:
          if (at < text.size()) text[at] = bytes[pick(bytes.size())];
          break;
        case 1: text.insert(at, 1, bytes[pick(bytes.size())]); break;
        default:
          if (at < text.size()) text.erase(at, 1 + pick(3));
      }
    } while (one_in(2));
    return text;
  }

  bool one_in(size_t n) { return pick(n) == 0; }

 private:
  size_t pick(size_t n) { return size_t(random_() % n); }
  std::string space() {
    const char* spaces[] = {"", "", "", " ", "\n  ", "\t"};
    return spaces[pick(6)];
  }
  std::string joined(const std::vector<std::string>& parts) {
    std::string text;
    for (size_t i = 0; i < parts.size(); ++i) text += (i ? "," : "") + space() + parts[i];
    return text;
  }
  std::string number(bool uint8) {
    if (uint8 && !one_in(20)) return std::to_string(pick(256));
    const char* odd[] = {"1e38", "3.4028235e38", "3.4028236e38", "1e39", "-0", "0.0", "1E-45", "1e-50",
                         "0.5", "256", "-1", "18446744073709551615", "9223372036854775808", "00", "1e2",
                         "255.0", "-9223372036854775809", "18446744073709551616", "14055.82695888619121",
                         "1.", "-0.0", "2e-400", "1.5e300", "0.95000000000000000000", "0.085137271245085310644",
                         "1000000000.000000001"};
    char text[40];
    if (one_in(100)) return std::to_string(pick(1000)) + "." + std::to_string(random_()) + std::to_string(random_());
    switch (pick(8)) {
      case 0: return std::to_string(int64_t(random_()));
      case 1: return std::to_string(random_());
      case 2:
        std::snprintf(text, sizeof text, "%.9g", std::normal_distribution<double>(0, 100)(random_));
        return text;
      case 3:
        std::snprintf(text, sizeof text, "%.17g", std::uniform_real_distribution<double>(-1, 1)(random_));
        return text;
      case 4: return odd[pick(std::size(odd))];
      default: return std::to_string(pick(256));
    }
  }
  std::string data(int rows, bool uint8) {
    const int count = rows * kFeatures + (one_in(30) ? int(pick(3)) - 1 : 0);
    const bool nested = one_in(10);
    std::string text = "[";
    for (int i = 0; i < count; ++i) {
      if (i) text += "," + space();
      if (nested && i % kFeatures == 0) text += "[";
      text += number(uint8);
      if (nested && (i % kFeatures == kFeatures - 1 || i == count - 1)) text += "]";
    }
    return text + "]";
  }
  std::string outputs() {
    const char* names[] = {"logits", "class_ids", "probabilities"};
    std::vector<std::string> list;
    for (size_t n = pick(3); n > 0; --n) {
      std::string output = std::string("{\"name\":\"") + names[one_in(20) ? 2 : pick(2)] + "\"";
      if (one_in(3)) {
        const char* binary = one_in(2) ? "true" : one_in(5) ? "1" : "false";
        output += std::string(",\"parameters\":{\"binary_data\":") + binary + "}";
      }
      if (one_in(15)) output += ",\"shape\":[1]";
      list.push_back(output + "}");
    }
    return "[" + joined(list) + "]";
  }

  std::mt19937_64 random_;
};

// The request as one comparable text: its fields and the inputs' bits.
std::string described(const InferRequest& request) {
  std::string text = request.id + "|" + std::to_string(request.rows) + "|" + std::to_string(request.logits) +
                     std::to_string(request.class_ids) + std::to_string(request.logits_binary) +
                     std::to_string(request.class_ids_binary) + "|";
  text.append(reinterpret_cast<const char*>(request.inputs.data()), request.inputs.size() * sizeof(float));
  return text;
}

TEST(KserveJson, TheCommonReadingEqualsTheDomReadingOnRandomRequests) {
  const uint64_t seed = std::random_device{}();
  RandomRequests requests(seed);
  int common = 0, accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body = requests.request();
    if (requests.one_in(2)) body = requests.broken(body);
    std::optional<InferRequest> dom;
    try {
      dom = parse_infer_request_dom(body, kFeatures);
    } catch (const ProtocolError&) {
    }
    const std::optional<InferRequest> fast = parse_common_infer_request(body, kFeatures);
    accepted += dom.has_value();
    if (!fast) continue;
    ++common;
    ASSERT_TRUE(dom) << "seed " << seed << ": the common reading accepts what the DOM refuses: " << body;
    ASSERT_EQ(described(*fast), described(*dom)) << "seed " << seed << ": " << body;
  }
  // Most valid requests take the common reading (the rest hold what only the DOM reads).
  EXPECT_GT(common, accepted / 3) << "seed " << seed;
}

TEST(KserveJson, TheCommonReadingTakesABatchOneImageAndDeclinesTheRest) {
  const std::string image =
      "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,5],\"datatype\":\"UINT8\",\"data\":[0,1,2,254,255]}],"
      "\"outputs\":[{\"name\":\"logits\"}]}";
  const std::optional<InferRequest> read = parse_common_infer_request(image, kFeatures);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->inputs, (std::vector<float>{0.0f, 1 / 255.0f, 2 / 255.0f, 254 / 255.0f, 1.0f}));
  EXPECT_TRUE(read->logits && !read->class_ids);
  const std::string input = "{\"name\":\"input\",\"shape\":[1,5],\"datatype\":\"FP32\"";
  for (const std::string& declined : std::vector<std::string>{
           "{\"inputs\":[" + input + ",\"data\":[1,2,3,4,5],\"parameters\":{}}]}",  // a key it does not read
           // data before its datatype
           "{\"inputs\":[{\"data\":[1,2,3,4,5],\"name\":\"input\",\"shape\":[1,5],\"datatype\":\"FP32\"}]}",
           "{\"inputs\":[" + input + ",\"data\":[[1,2,3,4,5]]}]}",                    // nested data
           "{\"inputs\":[" + input + ",\"data\":[1,2,3,4,5]}],\"id\":\"a\",\"id\":\"b\"}",  // a key twice
       }) {
    EXPECT_FALSE(parse_common_infer_request(declined, kFeatures)) << declined;
    EXPECT_EQ(parse_infer_request(declined, kFeatures).rows, 1) << declined;  // the DOM reads it
  }
  const std::string trailing = "{\"inputs\":[" + input + ",\"data\":[1,2,3,4,5]}]} {}";
  EXPECT_FALSE(parse_common_infer_request(trailing, kFeatures));
  EXPECT_THROW(parse_infer_request(trailing, kFeatures), ProtocolError);
}

}  // namespace
}  // namespace leap::serve
