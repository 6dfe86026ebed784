// Tests of core/crypto.h: Ed25519 keys and signatures, BLAKE2b-256 and author ids.

#include "core/crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error_codes.h"

namespace pando {
namespace {

template <size_t N>
std::array<uint8_t, N> ArrayFromHex(std::string_view hex) {
  auto bytes = FromHex(hex);
  CHECK(bytes.has_value() && bytes->size() == N);
  std::array<uint8_t, N> out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

Seed FilledSeed(uint8_t value) {
  Seed s;
  s.fill(value);
  return s;
}

// RFC 8032, section 7.1, TEST 1 and TEST 2.
TEST(Ed25519Test, MatchesRfc8032Vectors) {
  struct Case {
    std::string_view seed, public_key, message, signature;
  };
  const Case kCases[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
       "1cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
       "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Case& c : kCases) {
    KeyPair key = KeyPair::FromSeed(ArrayFromHex<32>(c.seed));
    EXPECT_EQ(ToHex(key.public_key()), c.public_key);
    Bytes message = *FromHex(c.message);
    Signature sig = key.Sign(message);
    EXPECT_EQ(ToHex(sig), c.signature);
    EXPECT_TRUE(VerifySignature(key.public_key(), message, sig));
  }
}

TEST(Ed25519Test, FromSeedIsDeterministicAndKeepsTheSeed) {
  KeyPair a = KeyPair::FromSeed(FilledSeed(7));
  KeyPair b = KeyPair::FromSeed(FilledSeed(7));
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_EQ(a.seed(), FilledSeed(7));
  EXPECT_EQ(a.Sign(AsBytes("m")), b.Sign(AsBytes("m")));
  EXPECT_NE(KeyPair::FromSeed(FilledSeed(8)).public_key(), a.public_key());
}

TEST(Ed25519Test, GeneratedKeysDiffer) {
  KeyPair a = KeyPair::Generate();
  KeyPair b = KeyPair::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_NE(a.seed(), b.seed());
  EXPECT_EQ(KeyPair::FromSeed(a.seed()).public_key(), a.public_key());
}

TEST(Ed25519Test, VerifyRejectsChangedMessageSignatureOrKey) {
  KeyPair key = KeyPair::FromSeed(FilledSeed(1));
  KeyPair other = KeyPair::FromSeed(FilledSeed(2));
  Bytes message = {'h', 'e', 'l', 'l', 'o'};
  Signature sig = key.Sign(message);
  ASSERT_TRUE(VerifySignature(key.public_key(), message, sig));

  Bytes changed = message;
  changed[0] ^= 1;
  EXPECT_FALSE(VerifySignature(key.public_key(), changed, sig));
  EXPECT_FALSE(VerifySignature(other.public_key(), message, sig));
  for (size_t i = 0; i < sig.size(); ++i) {
    Signature bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifySignature(key.public_key(), message, bad)) << "byte " << i;
  }
}

TEST(Blake2bTest, KnownAnswers) {
  EXPECT_EQ(ToHex(Blake2b256(AsBytes(""))),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(ToHex(Blake2b256(AsBytes("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(Blake2bTest, TwoSpanFormHashesTheConcatenation) {
  EXPECT_EQ(Blake2b256(AsBytes("a"), AsBytes("bc")), Blake2b256(AsBytes("abc")));
  EXPECT_EQ(Blake2b256(AsBytes(""), AsBytes("abc")), Blake2b256(AsBytes("abc")));
  EXPECT_EQ(Blake2b256(AsBytes("abc"), AsBytes("")), Blake2b256(AsBytes("abc")));
  EXPECT_EQ(Blake2b256(AsBytes(""), AsBytes("")), Blake2b256(AsBytes("")));
}

TEST(Blake2bTest, HasherEqualsOneShotWhateverThePieces) {
  Bytes data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  const Hash32 expected = Blake2b256(data);

  Blake2bHasher whole;
  whole.Update(data);
  EXPECT_EQ(whole.Final(), expected);

  Blake2bHasher bytewise;
  for (uint8_t b : data) bytewise.Update(ByteSpan(&b, 1));
  EXPECT_EQ(bytewise.Final(), expected);

  // Pieces of growing size, crossing the 128-byte block boundary in different places.
  Blake2bHasher pieces;
  size_t off = 0;
  for (size_t n = 0; off < data.size(); ++n) {
    size_t len = std::min(n, data.size() - off);
    pieces.Update(ByteSpan(data).subspan(off, len));
    off += len;
  }
  EXPECT_EQ(pieces.Final(), expected);

  Blake2bHasher empty;
  EXPECT_EQ(ToHex(empty.Final()),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(AuthorIdTest, HasPrefixAndFixedLength) {
  std::string id = AuthorId(KeyPair::FromSeed(FilledSeed(1)).public_key());
  EXPECT_TRUE(id.starts_with("pd")) << id;
  EXPECT_EQ(id.size(), 2u + 55u) << id;
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos);
}

TEST(AuthorIdTest, RoundTripsManyKeys) {
  for (int i = 0; i < 64; ++i) {
    PublicKey key = KeyPair::FromSeed(FilledSeed(static_cast<uint8_t>(i))).public_key();
    auto parsed = ParseAuthorId(AuthorId(key));
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(*parsed, key);
  }
  PublicKey zero{};
  auto parsed = ParseAuthorId(AuthorId(zero));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, zero);
}

TEST(AuthorIdTest, EverySingleCharacterTypoIsRejected) {
  const std::string id = AuthorId(KeyPair::FromSeed(FilledSeed(1)).public_key());
  const std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  int tried = 0;
  for (size_t pos = 2; pos < id.size(); ++pos) {
    for (char c : alphabet) {
      if (c == id[pos]) continue;
      std::string typo = id;
      typo[pos] = c;
      auto parsed = ParseAuthorId(typo);
      ASSERT_FALSE(parsed.ok()) << typo;
      EXPECT_EQ(parsed.code(), codes::kBadId) << typo;
      ++tried;
    }
  }
  EXPECT_EQ(tried, 55 * 31);
}

TEST(AuthorIdTest, SwappedNeighboursAreRejected) {
  const std::string id = AuthorId(KeyPair::FromSeed(FilledSeed(3)).public_key());
  for (size_t pos = 2; pos + 1 < id.size(); ++pos) {
    if (id[pos] == id[pos + 1]) continue;
    std::string typo = id;
    std::swap(typo[pos], typo[pos + 1]);
    EXPECT_EQ(ParseAuthorId(typo).code(), codes::kBadId) << typo;
  }
}

TEST(AuthorIdTest, WrongPrefixIsRejected) {
  const std::string id = AuthorId(KeyPair::FromSeed(FilledSeed(1)).public_key());
  const std::string body = id.substr(2);
  for (const std::string& bad :
       {"px" + body, "qd" + body, "PD" + body, body, "p" + body, "pdpd" + body, " pd" + body}) {
    auto parsed = ParseAuthorId(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.code(), codes::kBadId) << bad;
  }
}

TEST(AuthorIdTest, WrongLengthOrCharactersAreRejected) {
  const std::string id = AuthorId(KeyPair::FromSeed(FilledSeed(1)).public_key());
  for (const std::string& bad :
       {std::string(), std::string("pd"), id.substr(0, id.size() - 1), id + "a", id + "aaaaaaaa",
        id.substr(0, id.size() - 1) + "1", id.substr(0, 10) + "=" + id.substr(11)}) {
    EXPECT_EQ(ParseAuthorId(bad).code(), codes::kBadId) << bad;
  }
}

TEST(AuthorIdTest, ErrorMessageQuotesTheInput) {
  auto parsed = ParseAuthorId("pdnotanid");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("pdnotanid"), std::string::npos);
  EXPECT_EQ(parsed.error().ToString().substr(0, 8), "BAD_ID: ");
}

}  // namespace
}  // namespace pando
