// Golden vectors of the entry format: fixed drafts and keys, and the exact bytes they must
// encode to. docs/entry-vectors.md lists the same vectors for other implementations, and
// tools/gen_vectors.cc (pando_gen_vectors) prints them. These bytes must never change: a
// failure here means the entry format, or a primitive, changed.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/chain.h"
#include "core/crypto.h"
#include "core/entry.h"

namespace pando {
namespace {

struct GoldenVector {
  std::string name;
  // Inputs.
  std::string seed_hex;
  uint64_t seq = 0;
  std::string prev_hex;
  int64_t timestamp_ms = 0;
  uint16_t kind = 0;
  std::string group;
  std::string payload;  // Raw bytes.
  // Expected outputs.
  std::string public_key_hex;
  std::string author_id;
  std::string entry_hex;
  std::string id_hex;
  std::string signed_message_blake2b_hex;  // BLAKE2b-256 of domain tag || body.
};

std::string AllByteValues() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

Bytes HexOrDie(std::string_view hex) {
  auto b = FromHex(hex);
  CHECK(b.has_value());
  return *b;
}

template <size_t N>
std::array<uint8_t, N> ArrayOrDie(std::string_view hex) {
  Bytes b = HexOrDie(hex);
  CHECK(b.size() == N);
  std::array<uint8_t, N> out;
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

KeyPair KeyOf(const GoldenVector& v) { return KeyPair::FromSeed(ArrayOrDie<32>(v.seed_hex)); }

EntryDraft DraftOf(const GoldenVector& v) {
  EntryDraft d;
  d.seq = v.seq;
  d.prev = ArrayOrDie<32>(v.prev_hex);
  d.timestamp_ms = v.timestamp_ms;
  d.kind = v.kind;
  d.group = v.group;
  d.payload.assign(v.payload.begin(), v.payload.end());
  return d;
}

std::vector<GoldenVector> Vectors() {
  std::vector<GoldenVector> v;
  v.push_back({
      .name = "first_entry",
      .seed_hex = "0101010101010101010101010101010101010101010101010101010101010101",
      .seq = 1,
      .prev_hex = "0000000000000000000000000000000000000000000000000000000000000000",
      .timestamp_ms = 1700000000000,
      .kind = 1,
      .group = "general",
      .payload = "Hello, Pando!",
      .public_key_hex = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
      .author_id = "pdrkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5omlyq",
      .entry_hex = "018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f"
                   "5c01000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000068e5cf8b01000001000767656e6572616c0d00000048"
                   "656c6c6f2c2050616e646f2150f110551559670b12e19facf791d7cb43196e1c"
                   "2bd888b49d86f8cb326960502cee10fd2e776a5b351716ef566418e9adce62a8"
                   "bb8ebe4aa8be39be44a5fa05",
      .id_hex = "23322cf49360aeb34a2ffd15fdf902ff5a9599204191b0cc791793484a50f473",
      .signed_message_blake2b_hex =
          "8f046e9d6e54f1f4f3460bb38ddfdee9abf0dfe81a8ec9a628230ef5543ee026",
  });
  v.push_back({
      .name = "second_entry",
      .seed_hex = "0101010101010101010101010101010101010101010101010101010101010101",
      .seq = 2,
      // prev is vector 1's id.
      .prev_hex = "23322cf49360aeb34a2ffd15fdf902ff5a9599204191b0cc791793484a50f473",
      .timestamp_ms = 1700000060000,
      .kind = 1,
      .group = "general",
      .payload = "Second entry.",
      .public_key_hex = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
      .author_id = "pdrkeohxlubhyzl7ks3mwtzos5olfgocn7dwkbeg7toseadnapn5omlyq",
      .entry_hex = "018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f"
                   "5c020000000000000023322cf49360aeb34a2ffd15fdf902ff5a9599204191b0"
                   "cc791793484a50f4736052e6cf8b01000001000767656e6572616c0d00000053"
                   "65636f6e6420656e7472792efad947a807b05ed7ea92076ac504933bdb700e16"
                   "b13212e00ddcafce7744785fe05182f50ac7223e2f91ee0a28e5999533aa5e01"
                   "44654dc530563d44ac360e0e",
      .id_hex = "015b517356819d95a433ae85634bf4504003c11c76393d77b6663eef5c07edad",
      .signed_message_blake2b_hex =
          "cf8fb4fe318bfd7107998069e0cef37fe1ad964bfc01cec44eb2dbbf5dc35052",
  });
  v.push_back({
      .name = "empty_payload",
      .seed_hex = "0202020202020202020202020202020202020202020202020202020202020202",
      .seq = 1,
      .prev_hex = "0000000000000000000000000000000000000000000000000000000000000000",
      .timestamp_ms = 1700000000000,
      .kind = 0,
      .group = "a",
      .payload = "",
      .public_key_hex = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
      .author_id = "pdqe4xodvipulv6vvdkrtmgtd6ztfy3curwtxdpis56yhvxd6jwokmcgq",
      .entry_hex = "018139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3"
                   "9401000000000000000000000000000000000000000000000000000000000000"
                   "0000000000000000000068e5cf8b01000000000161000000008e4d91095e1f86"
                   "03c75549fb18738277940283b67080e19bf41191368ac23ff8acdc6c1d51d3ab"
                   "0a0b920a5cf1d1277df4900fab6878d89ae3f9b70294c46406",
      .id_hex = "1e418657aeaa9d0009812ed1d525fa22c416eeda11df7e6e957d1a50c2b68114",
      .signed_message_blake2b_hex =
          "258f8a174047e08308975b55152d8009edbfc68b63085d610d6c03cda3da4e50",
  });
  v.push_back({
      .name = "all_byte_values",
      .seed_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
      .seq = 1,
      .prev_hex = "0000000000000000000000000000000000000000000000000000000000000000",
      .timestamp_ms = 1234567890123,
      .kind = 0x1234,
      .group = "bin.data_01",
      .payload = AllByteValues(),
      .public_key_hex = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
      .author_id = "pdaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4j2ja",
      .entry_hex = "0103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531"
                   "b801000000000000000000000000000000000000000000000000000000000000"
                   "000000000000000000cb04fb711f01000034120b62696e2e646174615f303100"
                   "010000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c"
                   "1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c"
                   "3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c"
                   "5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c"
                   "7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c"
                   "9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbc"
                   "bdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdc"
                   "dddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfc"
                   "fdfeff2d6bb46ebfbe7b972bfcb388e5511cdad84e3fa4b0687e2a43c752e83e"
                   "cd80434a450364d0b07bbb16587cd995e97f5ea9becd1a32ccb3b7fbf557cc19"
                   "076106",
      .id_hex = "1e9d2adb5b9b5c010dbfb7de14e73f38b950d0063575d24f293dd5e60ae54580",
      .signed_message_blake2b_hex =
          "7ec3df702510d3cb46aa7aa8d1fdbea8c8eb1425c83fa2778e7dbd2c58483e7c",
  });
  v.push_back({
      .name = "max_length_group",
      .seed_hex = "0303030303030303030303030303030303030303030303030303030303030303",
      .seq = 5,
      .prev_hex = "abababababababababababababababababababababababababababababababab",
      .timestamp_ms = 1700000000000,
      .kind = 3,
      .group = "max-length.group_name-0123456789-abcdefghijklmnopqrstuvwxyz-0000",
      .payload = "64",
      .public_key_hex = "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1",
      .author_id = "pd5vesrrri2hbmn2xjam4jawmvmeuvsjz2lrr7snrwyfdbjlehg7i3n2a",
      .entry_hex = "01ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737"
                   "d10500000000000000ababababababababababababababababababababababab"
                   "ababababababababab0068e5cf8b0100000300406d61782d6c656e6774682e67"
                   "726f75705f6e616d652d303132333435363738392d6162636465666768696a6b"
                   "6c6d6e6f707172737475767778797a2d30303030020000003634fab9562d04eb"
                   "e37e4e5a76f8eaf117640baede8b8284e19ab77546af02664ac9793b2bcb7f6c"
                   "59ecf5b16763c8939af668d90283cc984e91150163ed4d7e7801",
      .id_hex = "3af4be5c7a52c2337c65848d5ffe5336b499e49f5ffb7497c6a1a4df34e9177a",
      .signed_message_blake2b_hex =
          "e553c64255259ee8a1b8671edce0af35030a9bc5c3032522873a4dff7e0d2400",
  });
  v.push_back({
      .name = "unicode_markdown",
      .seed_hex = "0404040404040404040404040404040404040404040404040404040404040404",
      .seq = 3,
      .prev_hex = "1111111111111111111111111111111111111111111111111111111111111111",
      .timestamp_ms = 1735689600000,
      .kind = 2,
      .group = "notes",
      .payload = "# Grüße aus Zürich\n\n*Pando* — 分散型 📚\n",
      .public_key_hex = "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
      .author_id = "pdzkj2yfyfdbyhdvt3qpd76dx6qeeor3cfgblv25zgq6jthw62xz6jnpq",
      .entry_hex = "01ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe"
                   "7c03000000000000001111111111111111111111111111111111111111111111"
                   "111111111111111111007c291f940100000200056e6f74657332000000232047"
                   "72c3bcc39f6520617573205ac3bc726963680a0a2a50616e646f2a20e2809420"
                   "e58886e695a3e59e8b20f09f939a0a187140a6eefae7abd3f113060ab9189c7b"
                   "7ec36456697b1629e0e8a157bc405f60768e9a9c403db18edaa730dcab5dfcf8"
                   "4704c90ce2c556eb20afe9c5ab7a00",
      .id_hex = "d910fc4721b419a5c59c22b88ca8f938e71ba0834524759357c9e116ef49dc56",
      .signed_message_blake2b_hex =
          "e91c53d01f28a485766dc66c2d6a980ac6c98f341e579820513ed21097a2fb37",
  });
  v.push_back({
      .name = "extreme_values",
      .seed_hex = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      .seq = 0x7fffffffffffffff,
      .prev_hex = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      .timestamp_ms = INT64_MAX,
      .kind = 0xffff,
      .group = "z",
      .payload = "x",
      .public_key_hex = "76a1592044a6e4f511265bca73a604d90b0529d1df602be30a19a9257660d1f5",
      .author_id = "pdo2qvsiceu3spkejglpfhhjqe3efqkkor35qcxyykdgusk5ta2h2wjfi",
      .entry_hex = "0176a1592044a6e4f511265bca73a604d90b0529d1df602be30a19a9257660d1"
                   "f5ffffffffffffff7fffffffffffffffffffffffffffffffffffffffffffffff"
                   "ffffffffffffffffffffffffffffffff7fffff017a0100000078853e4e088d1c"
                   "9272609af53efcea741db709fa1954b6016aca32f018dd7f2e27de20526d2a79"
                   "47228fb1f71cae2e6bbbc67114fb8cea4fa1fce1aebc564d4007",
      .id_hex = "9b7f3a9a18a6f6090f8d8b4de118c1f385e5cfcf75b286b29fb5791d1f82403c",
      .signed_message_blake2b_hex =
          "8e4cdd5e0804d8c32f7010c9aa887a79a057265d960532ead2ead5a6b2c46149",
  });
  return v;
}

class GoldenVectorTest : public ::testing::TestWithParam<GoldenVector> {};

TEST_P(GoldenVectorTest, KeyFromSeedHasTheExpectedPublicKeyAndAuthorId) {
  const GoldenVector& v = GetParam();
  KeyPair key = KeyOf(v);
  EXPECT_EQ(ToHex(key.public_key()), v.public_key_hex);
  EXPECT_EQ(AuthorId(key.public_key()), v.author_id);
  auto parsed = ParseAuthorId(v.author_id);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, key.public_key());
}

TEST_P(GoldenVectorTest, SigningTheDraftYieldsExactlyTheExpectedBytes) {
  const GoldenVector& v = GetParam();
  auto e = Entry::Sign(DraftOf(v), KeyOf(v));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(ToHex(e->bytes()), v.entry_hex);
  EXPECT_EQ(ToHex(e->id()), v.id_hex);
}

TEST_P(GoldenVectorTest, DecodingTheBytesYieldsTheInputs) {
  const GoldenVector& v = GetParam();
  auto e = Entry::Decode(HexOrDie(v.entry_hex));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->version(), 1);
  EXPECT_EQ(ToHex(e->author()), v.public_key_hex);
  EXPECT_EQ(e->seq(), v.seq);
  EXPECT_EQ(ToHex(e->prev()), v.prev_hex);
  EXPECT_EQ(e->timestamp_ms(), v.timestamp_ms);
  EXPECT_EQ(e->kind(), v.kind);
  EXPECT_EQ(e->group(), v.group);
  EXPECT_EQ(AsString(e->payload()), v.payload);
  EXPECT_EQ(e->bytes().size(), entry_layout::kOverhead + v.group.size() + v.payload.size());
  EXPECT_EQ(ToHex(e->signature()), v.entry_hex.substr(v.entry_hex.size() - 128));
}

TEST_P(GoldenVectorTest, IdIsBlake2bOfTheBytes) {
  const GoldenVector& v = GetParam();
  const Bytes bytes = HexOrDie(v.entry_hex);
  EXPECT_EQ(ToHex(Blake2b256(bytes)), v.id_hex);
  auto e = Entry::Decode(bytes);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ToHex(e->id()), v.id_hex);
}

TEST_P(GoldenVectorTest, SignatureVerifies) {
  const GoldenVector& v = GetParam();
  auto e = Entry::Decode(HexOrDie(v.entry_hex));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(VerifyEntrySignature(*e).ok());
  // The same check spelled out: Ed25519 over the 15-byte domain tag followed by the body.
  Bytes message = {'p', 'a', 'n', 'd', 'o', '.', 'e', 'n', 't', 'r', 'y', '.', 'v', '1', 0};
  ASSERT_EQ(AsString(message), kEntrySignatureDomain);
  Append(message, e->body());
  EXPECT_EQ(ToHex(Blake2b256(message)), v.signed_message_blake2b_hex);
  EXPECT_TRUE(VerifySignature(ArrayOrDie<32>(v.public_key_hex), message, e->signature()));
}

INSTANTIATE_TEST_SUITE_P(EntryFormat, GoldenVectorTest, ::testing::ValuesIn(Vectors()),
                         [](const auto& info) { return info.param.name; });

TEST(GoldenVectorSetTest, CoversTheRequiredCases) {
  std::vector<GoldenVector> v = Vectors();
  ASSERT_GE(v.size(), 6u);
  auto any = [&](auto pred) { return std::any_of(v.begin(), v.end(), pred); };
  EXPECT_TRUE(any([](const GoldenVector& x) { return x.seq == 1; }));
  EXPECT_TRUE(any([](const GoldenVector& x) { return x.payload.empty(); }));
  EXPECT_TRUE(any([](const GoldenVector& x) { return x.payload == AllByteValues(); }));
  EXPECT_TRUE(any([](const GoldenVector& x) { return x.group.size() == 64; }));
  EXPECT_TRUE(any([](const GoldenVector& x) {
    return std::any_of(x.payload.begin(), x.payload.end(), [](char c) { return c & 0x80; });
  }));
}

TEST(GoldenVectorSetTest, UnicodePayloadIsUtf8) {
  // Guards against a compiler reading the source file in another encoding.
  const GoldenVector v = Vectors()[5];
  ASSERT_EQ(v.name, "unicode_markdown");
  EXPECT_EQ(v.payload.size(), 50u);
  EXPECT_EQ(ToHex(AsBytes(v.payload.substr(0, 6))), "23204772c3bc");  // "# Grü"
}

TEST(GoldenVectorSetTest, SecondVectorFollowsTheFirstInItsFeed) {
  const std::vector<GoldenVector> v = Vectors();
  auto first = Entry::Decode(HexOrDie(v[0].entry_hex));
  auto second = Entry::Decode(HexOrDie(v[1].entry_hex));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(second->prev(), first->id());
  EXPECT_EQ(second->author(), first->author());
  FeedHead head{first->seq(), first->id(), first->timestamp_ms()};
  EXPECT_TRUE(CheckSuccessor(head, *second).ok());
  std::vector<Entry> run = {*first, *second};
  RunVerdict verdict = AuthenticateRun(run);
  EXPECT_EQ(verdict.linked, 2u);
  EXPECT_EQ(verdict.authenticated, 2u);
}

}  // namespace
}  // namespace pando
