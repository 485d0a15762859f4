#include "internal/ranges.h"

#include <gtest/gtest.h>

namespace atcr::registry::internal {
namespace {

TEST(EvaluateRange, SingleRangesAreHonoured) {
  auto r = EvaluateRange("bytes=2-5", 10);
  ASSERT_EQ(r.kind, RangeRequest::kPartial);
  EXPECT_EQ(r.range.first, 2u);
  EXPECT_EQ(r.range.last, 5u);

  r = EvaluateRange("bytes=7-", 10);
  ASSERT_EQ(r.kind, RangeRequest::kPartial);
  EXPECT_EQ(r.range.first, 7u);
  EXPECT_EQ(r.range.last, 9u);

  r = EvaluateRange("bytes=-3", 10);
  ASSERT_EQ(r.kind, RangeRequest::kPartial);
  EXPECT_EQ(r.range.first, 7u);
  EXPECT_EQ(r.range.length(), 3u);

  r = EvaluateRange("bytes=-30", 10);  // suffix longer than the blob: all of it
  ASSERT_EQ(r.kind, RangeRequest::kPartial);
  EXPECT_EQ(r.range.first, 0u);
  EXPECT_EQ(r.range.last, 9u);

  r = EvaluateRange("bytes=5-100", 10);  // last clamped
  ASSERT_EQ(r.kind, RangeRequest::kPartial);
  EXPECT_EQ(r.range.last, 9u);

  r = EvaluateRange("Bytes= 0-0", 10);
  ASSERT_EQ(r.kind, RangeRequest::kPartial);
  EXPECT_EQ(r.range.length(), 1u);
}

TEST(EvaluateRange, UnsatisfiableRanges) {
  EXPECT_EQ(EvaluateRange("bytes=10-", 10).kind, RangeRequest::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=10-20", 10).kind, RangeRequest::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=-0", 10).kind, RangeRequest::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=0-", 0).kind, RangeRequest::kUnsatisfiable);
}

TEST(EvaluateRange, MalformedOrMultipleRangesAreIgnored) {
  for (const char* h : {"", "bytes", "items=0-1", "bytes=a-b", "bytes=5-2", "bytes=0-1,3-4",
                        "bytes=--1", "bytes=1", "bytes=99999999999999999999999-"}) {
    EXPECT_EQ(EvaluateRange(h, 10).kind, RangeRequest::kFull) << h;
  }
}

TEST(ParseChunkRange, AcceptsTheSpecFormAndCommonVariants) {
  auto r = ParseChunkRange("0-99");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 99u);
  EXPECT_EQ(r->length(), 100u);
  r = ParseChunkRange("bytes=100-199");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 100u);
  r = ParseChunkRange("bytes 100-199/*");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last, 199u);
  r = ParseChunkRange("bytes 100-199/1000");
  ASSERT_TRUE(r.ok());
}

TEST(ParseChunkRange, RejectsMalformed) {
  for (const char* h : {"", "-", "5", "a-b", "5-", "-5", "10-5", "1-2-3", "bytes 1-2/x", " 1 - 2"}) {
    EXPECT_FALSE(ParseChunkRange(h).ok()) << h;
  }
}

TEST(ParseUint, StrictDecimal) {
  EXPECT_EQ(ParseUint("0"), 0u);
  EXPECT_EQ(ParseUint("18446744073709551615"), 18446744073709551615ull);
  EXPECT_FALSE(ParseUint("18446744073709551616"));
  EXPECT_FALSE(ParseUint("-1"));
  EXPECT_FALSE(ParseUint("+1"));
  EXPECT_FALSE(ParseUint(""));
  EXPECT_FALSE(ParseUint("1 "));
}

}  // namespace
}  // namespace atcr::registry::internal
