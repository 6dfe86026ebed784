// Tests of core/bytes.h: hex and base32 forms and little-endian helpers.

#include "core/bytes.h"

#include <gtest/gtest.h>

namespace pando {
namespace {

Bytes AllByteValues() {
  Bytes b;
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<uint8_t>(i));
  return b;
}

TEST(HexTest, EncodesLowerCase) {
  EXPECT_EQ(ToHex(Bytes{}), "");
  EXPECT_EQ(ToHex(Bytes{0x00, 0x0f, 0xab, 0xff}), "000fabff");
}

TEST(HexTest, RoundTripsEveryByteValue) {
  Bytes all = AllByteValues();
  std::string hex = ToHex(all);
  ASSERT_EQ(hex.size(), 512u);
  auto back = FromHex(hex);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
}

TEST(HexTest, AcceptsUpperCase) {
  auto b = FromHex("ABcdEF09");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (Bytes{0xab, 0xcd, 0xef, 0x09}));
}

TEST(HexTest, EmptyStringDecodesToNoBytes) {
  auto b = FromHex("");
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(b->empty());
}

TEST(HexTest, RejectsOddLength) {
  EXPECT_FALSE(FromHex("a").has_value());
  EXPECT_FALSE(FromHex("abc").has_value());
}

TEST(HexTest, RejectsNonHexCharacters) {
  for (std::string_view bad : {"0g", "g0", "zz", " 0", "0 ", "0x", "-1", "+1"}) {
    EXPECT_FALSE(FromHex(bad).has_value()) << "'" << bad << "'";
  }
}

// RFC 4648 section 10 test vectors, lower case and without padding.
TEST(Base32Test, MatchesRfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> kVectors[] = {
      {"", ""},
      {"f", "my"},
      {"fo", "mzxq"},
      {"foo", "mzxw6"},
      {"foob", "mzxw6yq"},
      {"fooba", "mzxw6ytb"},
      {"foobar", "mzxw6ytboi"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(ToBase32(AsBytes(plain)), encoded) << plain;
    auto back = FromBase32(encoded);
    ASSERT_TRUE(back.has_value()) << encoded;
    EXPECT_EQ(AsString(*back), plain);
  }
}

TEST(Base32Test, RoundTripsEveryLengthUpTo64) {
  Bytes all = AllByteValues();
  for (size_t n = 0; n <= 64; ++n) {
    Bytes in(all.begin() + static_cast<std::ptrdiff_t>(3 * n % 128),
             all.begin() + static_cast<std::ptrdiff_t>(3 * n % 128 + n));
    std::string text = ToBase32(in);
    EXPECT_EQ(text.size(), (n * 8 + 4) / 5);
    auto back = FromBase32(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, in);
  }
}

TEST(Base32Test, AcceptsUpperCase) {
  auto b = FromBase32("MZXW6YTBOI");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(AsString(*b), "foobar");
}

TEST(Base32Test, RejectsCharactersOutsideTheAlphabet) {
  for (std::string_view bad : {"mzxw0", "mzxw1", "mzxw8", "mzxw=", "mzx w", "my=="}) {
    EXPECT_FALSE(FromBase32(bad).has_value()) << bad;
  }
}

TEST(Base32Test, RejectsNonZeroTrailingBits) {
  // "my" is "f": 10 bits, the last 2 are padding and must be zero.
  ASSERT_TRUE(FromBase32("my").has_value());
  EXPECT_FALSE(FromBase32("mz").has_value());  // z = 25 = 0b11001: padding bit 1 set.
  EXPECT_FALSE(FromBase32("m7").has_value());
  // "mzxq" is "fo": 20 bits, 4 of padding.
  ASSERT_TRUE(FromBase32("mzxq").has_value());
  EXPECT_FALSE(FromBase32("mzxr").has_value());
}

TEST(Base32Test, RejectsLengthsThatNoByteStringProduces) {
  // 1, 3 and 6 characters leave 5 or more unused bits.
  EXPECT_FALSE(FromBase32("m").has_value());
  EXPECT_FALSE(FromBase32("mzx").has_value());
  EXPECT_FALSE(FromBase32("mzxw6y").has_value());
}

TEST(LittleEndianTest, PutAndGetRoundTrip) {
  Bytes out;
  PutU16(out, 0x1234);
  PutU32(out, 0x89abcdefu);
  PutU64(out, 0x0123456789abcdefULL);
  ASSERT_EQ(out.size(), 14u);
  EXPECT_EQ(ToHex(out), "3412efcdab89efcdab8967452301");
  EXPECT_EQ(GetU16(&out[0]), 0x1234);
  EXPECT_EQ(GetU32(&out[2]), 0x89abcdefu);
  EXPECT_EQ(GetU64(&out[6]), 0x0123456789abcdefULL);
}

}  // namespace
}  // namespace pando
