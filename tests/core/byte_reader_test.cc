// Tests of core/byte_reader.h: bounds, sticky failure, length prefixes and counts against
// the bytes that remain and against their maximum.

#include "core/byte_reader.h"

#include <gtest/gtest.h>

namespace pando {
namespace {

using Failure = ByteReader::Failure;

TEST(ByteReaderTest, ReadsLittleEndianFieldsInOrder) {
  Bytes b;
  b.push_back(0xab);
  PutU16(b, 0x1234);
  PutU32(b, 0x89abcdefu);
  PutU64(b, 0x0123456789abcdefULL);
  ByteReader r(b);
  EXPECT_EQ(r.U8(), 0xab);
  EXPECT_EQ(r.U16(), 0x1234);
  EXPECT_EQ(r.U32(), 0x89abcdefu);
  EXPECT_EQ(r.U64(), 0x0123456789abcdefULL);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.AtEnd());
  EXPECT_EQ(r.failure(), Failure::kNone);
}

TEST(ByteReaderTest, ReadsFixedArraysAndSpansThatPointIntoTheInput) {
  Bytes b(32 + 64 + 3);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i);
  ByteReader r(b);
  Hash32 h;
  Signature sig;
  r.Read(h);
  r.Read(sig);
  EXPECT_EQ(h[0], 0);
  EXPECT_EQ(h[31], 31);
  EXPECT_EQ(sig[0], 32);
  EXPECT_EQ(sig[63], 95);
  const ByteSpan rest = r.Rest();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest.data(), b.data() + 96);  // Not a copy.
  EXPECT_TRUE(r.AtEnd());
  // Rest() of nothing is empty and not a failure.
  EXPECT_TRUE(r.Rest().empty());
  EXPECT_TRUE(r.ok());
}

TEST(ByteReaderTest, EveryWidthFailsOneByteShortAndReadsNothing) {
  const Bytes b = {1, 2, 3, 4, 5, 6, 7, 8};
  for (size_t width : {1, 2, 4, 8}) {
    SCOPED_TRACE(width);
    const ByteSpan short_input = ByteSpan(b).first(width - 1);
    ByteReader r(short_input);
    uint64_t v = 1;
    switch (width) {
      case 1:
        v = r.U8();
        break;
      case 2:
        v = r.U16();
        break;
      case 4:
        v = r.U32();
        break;
      default:
        v = r.U64();
    }
    EXPECT_EQ(v, 0u);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.AtEnd());
    EXPECT_EQ(r.failure(), Failure::kCutShort);
  }
  ByteReader empty(ByteSpan{});
  EXPECT_TRUE(empty.AtEnd());
  EXPECT_TRUE(empty.Take(0).empty());
  EXPECT_TRUE(empty.ok());
  EXPECT_EQ(empty.U8(), 0);
  EXPECT_FALSE(empty.ok());
}

TEST(ByteReaderTest, AShortArrayIsZeroed) {
  const Bytes b(31, 0xff);
  ByteReader r(b);
  Hash32 h;
  h.fill(7);
  r.Read(h);
  EXPECT_EQ(h, Hash32{});
  EXPECT_EQ(r.failure(), Failure::kCutShort);
}

TEST(ByteReaderTest, FailureIsStickyAndKeepsItsFirstReason) {
  const Bytes b = {0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  ByteReader r(b);
  EXPECT_TRUE(r.Prefixed8(4).empty());  // Announces 5 bytes; at most 4 are allowed.
  EXPECT_EQ(r.failure(), Failure::kOverMax);
  // Bytes remain in the input, yet every later read fails and consumes nothing.
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.U8(), 0);
  EXPECT_EQ(r.U32(), 0u);
  EXPECT_TRUE(r.Take(0).empty());
  EXPECT_TRUE(r.Rest().empty());
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.AtEnd());
  EXPECT_EQ(r.failure(), Failure::kOverMax);
}

TEST(ByteReaderTest, FailMarksARefusedValue) {
  const Bytes b = {2, 9};
  ByteReader r(b);
  if (r.U8() > 1) r.Fail();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.failure(), Failure::kInvalid);
  EXPECT_EQ(r.U8(), 0);  // The 9 is not read.
  EXPECT_EQ(r.failure(), Failure::kInvalid);
}

TEST(ByteReaderTest, APrefixedStringLongerThanWhatRemainsFails) {
  for (size_t prefix : {1, 2, 4}) {
    SCOPED_TRACE(prefix);
    Bytes b;
    if (prefix == 1) b.push_back(4);
    if (prefix == 2) PutU16(b, 4);
    if (prefix == 4) PutU32(b, 4);
    Append(b, Bytes{1, 2, 3});  // One byte short of the 4 announced.
    ByteReader r(b);
    const ByteSpan s = prefix == 1   ? r.Prefixed8(255)
                       : prefix == 2 ? r.Prefixed16(65535)
                                     : r.Prefixed32(1000);
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(r.failure(), Failure::kCutShort);
  }
}

TEST(ByteReaderTest, AHugeLengthFailsWithoutReadingOrAllocating) {
  // A u32 length of 4 GiB - 1 with nothing behind it: refused by its maximum, and by the
  // bytes that remain when the maximum allows it. No read goes past the 4 bytes of input.
  Bytes b;
  PutU32(b, UINT32_MAX);
  ByteReader capped(b);
  EXPECT_TRUE(capped.Prefixed32(65536).empty());
  EXPECT_EQ(capped.failure(), Failure::kOverMax);
  ByteReader uncapped(b);
  EXPECT_TRUE(uncapped.Prefixed32(UINT32_MAX).empty());
  EXPECT_EQ(uncapped.failure(), Failure::kCutShort);
}

TEST(ByteReaderTest, APrefixedStringAtItsMaximumReads) {
  Bytes b = {3, 'a', 'b', 'c', 0};
  ByteReader r(b);
  EXPECT_EQ(AsString(r.Prefixed8(3)), "abc");
  EXPECT_TRUE(r.Prefixed8(0).empty());  // A zero length is allowed by a maximum of 0.
  EXPECT_TRUE(r.AtEnd());
}

TEST(ByteReaderTest, CountsAreCheckedAgainstTheirMaximumAndTheBytesLeft) {
  Bytes b;
  PutU16(b, 3);
  Append(b, Bytes(3 * 8, 0xee));
  {
    ByteReader r(b);
    EXPECT_EQ(r.Count16(3, 8), 3u);
    EXPECT_EQ(r.remaining(), 24u);
  }
  {
    ByteReader r(b);
    EXPECT_EQ(r.Count16(2, 8), 0u);
    EXPECT_EQ(r.failure(), Failure::kOverMax);
  }
  {
    ByteReader r(b);
    EXPECT_EQ(r.Count16(100, 9), 0u);  // 27 bytes of items do not fit in 24.
    EXPECT_EQ(r.failure(), Failure::kCutShort);
  }
  {
    // The largest count of the largest items cannot wrap around and pass the check.
    Bytes huge = {0xff, 0xff};
    ByteReader r(huge);
    EXPECT_EQ(r.Count16(SIZE_MAX, SIZE_MAX / 2), 0u);
    EXPECT_EQ(r.failure(), Failure::kCutShort);
  }
  {
    Bytes one = {200};
    ByteReader r(one);
    EXPECT_EQ(r.Count8(255, 0), 200u);  // Items of no fixed size are checked as they come.
    EXPECT_TRUE(r.AtEnd());
  }
}

TEST(ByteReaderTest, AtEndSeesTrailingBytes) {
  const Bytes b = {1, 2, 3};
  ByteReader r(b);
  r.U16();
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.AtEnd());
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_EQ(r.Take(1)[0], 3);
  EXPECT_TRUE(r.AtEnd());
}

}  // namespace
}  // namespace pando
