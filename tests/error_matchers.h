// Helpers for tests that check leap::Error messages.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "leap/error.h"

// The message of the leap::Error that `call` throws; a test failure when it throws none.
template <typename Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const leap::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a leap::Error";
  return "";
}

inline void expect_contains(const std::string& text, const std::vector<std::string>& words) {
  for (const std::string& word : words)
    EXPECT_NE(text.find(word), std::string::npos) << "\"" << word << "\" not in: " << text;
}
