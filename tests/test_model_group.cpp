// ModelGroup: members on their own threads take turns, and their gathered requests run as one
// launch once every member still training has gathered; members that end early, or a launch
// that fails, hold no one back.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "train/model_group.h"

namespace leap {
namespace {

// Member k gathers rounds[k] times, its request its own index; each launch records the
// requests it took. `inside` checks that no two members run their host code at once.
std::vector<std::vector<int>> run_members(const std::vector<int>& rounds) {
  ModelGroup group{rounds.size()};
  std::vector<std::vector<int>> launched;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < int(rounds.size()); ++k)
    threads.emplace_back([&, k] {
      ModelGroup::Member member(group);
      for (int r = 0; r < rounds[k]; ++r) {
        if (inside.fetch_add(1) != 0) overlapped = true;
        std::this_thread::yield();  // host work, with the turn held
        inside.fetch_sub(1);
        group.gather(&k, [&](std::span<const void* const> requests) {
          std::vector<int> ids;
          for (const void* request : requests) ids.push_back(*static_cast<const int*>(request));
          launched.push_back(ids);
        });
      }
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(overlapped) << "two members held the turn at once";
  return launched;
}

TEST(ModelGroup, EveryMemberStillTrainingIsInEachLaunch) {
  const int64_t launches = ModelGroup::launches(), requests = ModelGroup::requests();
  const std::vector<std::vector<int>> launched = run_members({3, 1, 3, 2});
  ASSERT_EQ(launched.size(), 3u);
  // Round r takes the members with more than r rounds, each once, in any order.
  const std::vector<std::vector<int>> expected = {{0, 1, 2, 3}, {0, 2, 3}, {0, 2}};
  for (size_t r = 0; r < launched.size(); ++r) {
    std::vector<int> ids = launched[r];
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, expected[r]) << "launch " << r;
  }
  EXPECT_EQ(ModelGroup::launches() - launches, 3);
  EXPECT_EQ(ModelGroup::requests() - requests, 9);
}

TEST(ModelGroup, AMemberThatNeverGathersHoldsNoOneBack) {
  const std::vector<std::vector<int>> launched = run_members({0, 2, 0});
  ASSERT_EQ(launched.size(), 2u);
  EXPECT_EQ(launched[0], std::vector<int>{1});
  EXPECT_EQ(launched[1], std::vector<int>{1});
}

TEST(ModelGroup, AMemberThatFailsHoldsNoOneBack) {
  ModelGroup group{3};
  std::vector<std::vector<int>> launched;
  auto launch = [&](std::span<const void* const> requests) {
    std::vector<int> ids;
    for (const void* request : requests) ids.push_back(*static_cast<const int*>(request));
    std::sort(ids.begin(), ids.end());
    launched.push_back(ids);
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k)
    threads.emplace_back([&, k] {
      try {
        ModelGroup::Member member(group);
        for (int r = 0; r < 3; ++r) {
          group.gather(&k, launch);
          if (k == 1) throw std::runtime_error("model 1 failed");  // ends its membership on the way out
        }
      } catch (const std::runtime_error&) {
      }
    });
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::vector<int>> expected = {{0, 1, 2}, {0, 2}, {0, 2}};
  EXPECT_EQ(launched, expected);
}

TEST(ModelGroup, AFailedLaunchFailsEachOfItsMembers) {
  ModelGroup group{3};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 3; ++k)
    threads.emplace_back([&, k] {
      ModelGroup::Member member(group);
      try {
        group.gather(&k, [](std::span<const void* const>) { throw std::runtime_error("no launch"); });
      } catch (const std::runtime_error& error) {
        failed += std::string(error.what()) == "no launch";
      }
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed, 3);
}

TEST(ModelGroup, MembersShareWhatIsMadeFromOneSource) {
  ModelGroup group{2};
  int made = 0;
  const float source[1] = {0.0f}, other[1] = {0.0f};
  auto make = [&] {
    ++made;
    return Tensor::zeros({4});
  };
  const Tensor first = group.shared_tensor(source, 784, make), again = group.shared_tensor(source, 784, make);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(first.data(), again.data()) << "the same storage";
  group.shared_tensor(source, 100, make);  // another variant of the source
  group.shared_tensor(other, 784, make);
  EXPECT_EQ(made, 3);
  // What could not be made is asked for again.
  EXPECT_FALSE(group.shared_tensor(source, 1, [] { return Tensor(); }).defined());
  EXPECT_TRUE(group.shared_tensor(source, 1, make).defined());
  EXPECT_EQ(made, 4);
}

TEST(ModelGroup, OnlyMembersKnowTheirGroup) {
  EXPECT_EQ(ModelGroup::current(), nullptr);
  ModelGroup group{1};
  {
    ModelGroup::Member member(group);
    EXPECT_EQ(ModelGroup::current(), &group);
  }
  EXPECT_EQ(ModelGroup::current(), nullptr);
}

}  // namespace
}  // namespace leap
