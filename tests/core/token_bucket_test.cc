// TokenBucket (core/token_bucket.h): a rate with a burst, driven by explicit times.
#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace pando {
namespace {

constexpr int64_t kT0 = 3'600'000;

TEST(TokenBucketTest, StartsFullTakesAndRefillsAtItsRate) {
  TokenBucket b(100, 400, kT0);  // 100 a second, 400 at most.
  EXPECT_TRUE(b.Full(kT0));
  EXPECT_TRUE(b.Take(300, kT0));
  EXPECT_FALSE(b.Take(200, kT0));  // 100 left: nothing is taken.
  EXPECT_TRUE(b.Take(100, kT0));
  EXPECT_EQ(b.WaitMs(50, kT0), 500);
  EXPECT_GT(b.WaitMs(50, kT0 + 499), 0);
  EXPECT_TRUE(b.Take(50, kT0 + 500));
  // It never holds more than the burst, however long it rests.
  EXPECT_TRUE(b.Full(kT0 + 3'600'000));
  EXPECT_TRUE(b.Take(400, kT0 + 3'600'000));
  EXPECT_FALSE(b.Take(1, kT0 + 3'600'000));
}

TEST(TokenBucketTest, TimeGoingBackwardsAddsNothing) {
  TokenBucket b(10, 10, kT0);
  EXPECT_TRUE(b.Take(10, kT0));
  EXPECT_FALSE(b.Take(1, kT0 - 5'000));
  EXPECT_EQ(b.WaitMs(1, kT0), 100);
}

TEST(TokenBucketTest, MoreThanTheBurstIsTakenAsTheBurst) {
  TokenBucket b(10, 10, kT0);
  EXPECT_EQ(b.WaitMs(1000, kT0), 0);
  EXPECT_TRUE(b.Take(1000, kT0));
  EXPECT_EQ(b.WaitMs(1000, kT0), 1000);
}

}  // namespace
}  // namespace pando
