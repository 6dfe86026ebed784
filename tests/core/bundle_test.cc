// Tests of core/bundle.h: writing and streaming-reading bundles, and detecting truncation
// and corruption.

#include "core/bundle.h"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

#include "core/error_codes.h"
#include "testutil/feed.h"

namespace pando {
namespace {

using ::pando::testing::SignOrDie;
using ::pando::testing::TestKey;

constexpr int64_t kT0 = 1700000000000;

EntryDraft Draft(uint64_t seq, const Hash32& prev, std::string_view text) {
  EntryDraft d;
  d.seq = seq;
  d.prev = prev;
  d.timestamp_ms = kT0 + static_cast<int64_t>(seq) * 1000;
  d.group = "general";
  d.kind = 1;
  d.payload.assign(text.begin(), text.end());
  return d;
}

std::string Str(const Bytes& b) { return std::string(AsString(b)); }
Bytes BytesOf(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Two entries of one feed, and a proof that the author forked at seq 2.
struct Fixture {
  Fixture() : key(TestKey(1)) {
    e1 = SignOrDie(Draft(1, Hash32{}, "one"), key);
    e2 = SignOrDie(Draft(2, e1->id(), "two"), key);
    Entry e2b = SignOrDie(Draft(2, e1->id(), "two, forked"), key);
    proof = ForkProof{{*e2}, {e2b}};
  }
  KeyPair key;
  std::optional<Entry> e1, e2;
  ForkProof proof;
};

std::string WriteBundle(const Fixture& f) {
  std::ostringstream out;
  BundleWriter w(&out);
  w.WriteEntry(*f.e1);
  w.WriteEntry(*f.e2);
  w.WriteForkProof(f.proof);
  CHECK(w.Finish().ok());
  return out.str();
}

// Reads records until the end or the first error. Returns the records and the final status
// (ok only if a verified end record was reached).
struct ReadOutcome {
  std::vector<BundleRecord> records;
  Status status;
};
ReadOutcome ReadAll(const std::string& data) {
  std::istringstream in(data);
  BundleReader reader(&in);
  ReadOutcome out;
  for (int i = 0; i < 1000; ++i) {
    auto r = reader.Next();
    if (!r.ok()) {
      out.status = r.error();
      return out;
    }
    if (!r->has_value()) return out;
    out.records.push_back(std::move(**r));
  }
  out.status = Error{"TEST", "too many records"};
  return out;
}

// A bundle assembled by hand: header, the given raw records, and a correct end record.
std::string RawBundle(std::string_view magic, uint8_t version,
                      const std::vector<std::pair<uint8_t, Bytes>>& records) {
  Bytes out = BytesOf(std::string(magic));
  out.push_back(version);
  for (const auto& [type, body] : records) {
    out.push_back(type);
    PutU32(out, static_cast<uint32_t>(body.size()));
    Append(out, body);
  }
  Hash32 sum = Blake2b256(out);
  out.push_back(0);
  PutU32(out, 32);
  Append(out, sum);
  return Str(out);
}

TEST(BundleTest, RoundTripsEntriesAndForkProofs) {
  Fixture f;
  ReadOutcome r = ReadAll(WriteBundle(f));
  ASSERT_TRUE(r.status.ok()) << r.status.error().ToString();
  ASSERT_EQ(r.records.size(), 3u);
  ASSERT_TRUE(std::holds_alternative<Entry>(r.records[0]));
  EXPECT_EQ(std::get<Entry>(r.records[0]), *f.e1);
  ASSERT_TRUE(std::holds_alternative<Entry>(r.records[1]));
  EXPECT_EQ(std::get<Entry>(r.records[1]), *f.e2);
  ASSERT_TRUE(std::holds_alternative<ForkProof>(r.records[2]));
  const ForkProof& p = std::get<ForkProof>(r.records[2]);
  EXPECT_EQ(p.a, f.proof.a);
  EXPECT_EQ(p.b, f.proof.b);
  EXPECT_TRUE(VerifyForkProof(p).ok());
}

TEST(BundleTest, LayoutIsMagicVersionRecordsAndChecksum) {
  Fixture f;
  std::ostringstream out;
  BundleWriter w(&out);
  w.WriteEntry(*f.e1);
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(out.str(), RawBundle("PANDOBDL", 1, {{uint8_t{1}, f.e1->bytes()}}));
}

TEST(BundleTest, EmptyBundleHasOnlyTheEndRecord) {
  std::ostringstream out;
  BundleWriter w(&out);
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(out.str().size(), 9u + 5u + 32u);
  ReadOutcome r = ReadAll(out.str());
  EXPECT_TRUE(r.status.ok());
  EXPECT_TRUE(r.records.empty());
}

TEST(BundleTest, ReadingPastTheEndIsAnError) {
  Fixture f;
  std::istringstream in(WriteBundle(f));
  BundleReader reader(&in);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader.Next().ok());
  auto end = reader.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(reader.Next().code(), codes::kBadBundle);
}

TEST(BundleTest, EveryTruncationIsDetected) {
  Fixture f;
  const std::string full = WriteBundle(f);
  const ReadOutcome complete = ReadAll(full);
  for (size_t len = 0; len < full.size(); ++len) {
    ReadOutcome r = ReadAll(full.substr(0, len));
    ASSERT_FALSE(r.status.ok()) << "length " << len << " was read as a complete bundle";
    EXPECT_EQ(r.status.code(), codes::kBadBundle) << "length " << len;
    // Records before the cut are still delivered, and are the right ones.
    ASSERT_LE(r.records.size(), complete.records.size());
    for (size_t i = 0; i < r.records.size() && i < 2; ++i) {
      EXPECT_EQ(std::get<Entry>(r.records[i]), std::get<Entry>(complete.records[i]));
    }
  }
}

TEST(BundleTest, EveryFlippedByteIsDetected) {
  Fixture f;
  const std::string good = WriteBundle(f);
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      ReadOutcome r = ReadAll(bad);
      EXPECT_FALSE(r.status.ok()) << "byte " << i << " mask " << int{mask};
    }
  }
}

TEST(BundleTest, FlippedPayloadByteFailsTheChecksum) {
  Fixture f;
  std::string bad = WriteBundle(f);
  // The last payload byte of the first entry: it still decodes, so only the sum catches it.
  const size_t pos = 9 + 5 + f.e1->bytes().size() - 64 - 1;
  bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
  ReadOutcome r = ReadAll(bad);
  EXPECT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.status.code(), codes::kBadBundle);
}

TEST(BundleTest, WrongMagicIsRejected) {
  Fixture f;
  std::string data = WriteBundle(f);
  data[0] = 'Q';
  EXPECT_EQ(ReadAll(data).status.code(), codes::kBadBundle);
  EXPECT_EQ(ReadAll(RawBundle("PANDOBDX", 1, {})).status.code(), codes::kBadBundle);
  EXPECT_EQ(ReadAll("not a bundle at all, just some text").status.code(), codes::kBadBundle);
  EXPECT_EQ(ReadAll("").status.code(), codes::kBadBundle);
}

// The magic decides first: an input that does not start with PANDOBDL, however short, is
// not a bundle; one that does and then ends is truncated.
TEST(BundleTest, ShortInputIsJudgedByItsMagic) {
  const std::string kNotABundle = "it does not start with PANDOBDL";
  const std::string kTruncated = "it ends early (truncated?)";
  for (const std::string& input :
       {std::string(), std::string("x"), std::string("PANDO"), std::string("PANDOBD"),
        std::string("PANDOBDX"), std::string("hello!!!\x01")}) {
    Status s = ReadAll(input).status;
    EXPECT_EQ(s.code(), codes::kBadBundle) << input;
    EXPECT_NE(s.error().message.find(kNotABundle), std::string::npos)
        << input << ": " << s.error().message;
  }
  for (const std::string& input : {std::string("PANDOBDL"), std::string("PANDOBDL\x01"),
                                   std::string("PANDOBDL\x01\x01\x00")}) {
    Status s = ReadAll(input).status;
    EXPECT_NE(s.error().message.find(kTruncated), std::string::npos)
        << input << ": " << s.error().message;
  }
}

TEST(BundleTest, UnknownVersionIsRejected) {
  EXPECT_TRUE(ReadAll(RawBundle("PANDOBDL", 1, {})).status.ok());
  for (uint8_t version : {0, 2, 255}) {
    EXPECT_EQ(ReadAll(RawBundle("PANDOBDL", version, {})).status.code(), codes::kBadBundle)
        << int{version};
  }
}

TEST(BundleTest, UnknownRecordTypeIsRejected) {
  Fixture f;
  for (uint8_t type : {3, 7, 255}) {
    ReadOutcome r =
        ReadAll(RawBundle("PANDOBDL", 1, {{uint8_t{1}, f.e1->bytes()}, {type, BytesOf("abc")}}));
    EXPECT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.status.code(), codes::kBadBundle) << int{type};
  }
}

TEST(BundleTest, HugeRecordLengthIsRejectedWithoutReading) {
  Bytes data = BytesOf("PANDOBDL");
  data.push_back(1);
  data.push_back(1);
  PutU32(data, UINT32_MAX);
  EXPECT_EQ(ReadAll(Str(data)).status.code(), codes::kBadBundle);
}

TEST(BundleTest, EndRecordMustHoldExactly32Bytes) {
  std::string good = RawBundle("PANDOBDL", 1, {});
  Bytes longer = BytesOf(good);
  longer[9 + 1] = 33;
  longer.push_back(0);
  EXPECT_EQ(ReadAll(Str(longer)).status.code(), codes::kBadBundle);
}

TEST(BundleTest, InvalidEntryRecordReportsTheEntryError) {
  Fixture f;
  Bytes bad_entry = f.e1->bytes();
  bad_entry[0] = 2;
  ReadOutcome r = ReadAll(RawBundle("PANDOBDL", 1, {{uint8_t{1}, bad_entry}}));
  EXPECT_EQ(r.status.code(), codes::kUnknownVersion);
}

TEST(BundleTest, ReaderStaysFailedAfterABundleError) {
  std::istringstream in("PANDOBDX\x01");
  BundleReader reader(&in);
  EXPECT_EQ(reader.Next().code(), codes::kBadBundle);
  EXPECT_EQ(reader.Next().code(), codes::kBadBundle);
}

// bundle.h promises "After an error the reader stays failed", but an entry or fork-proof
// decode error leaves the reader running (bundle.cc does not set done_ on that path), so the
// next call returns the following record. Enable once bundle.cc is fixed.
TEST(BundleTest, ReaderStaysFailedAfterAnEntryDecodeError) {
  Fixture f;
  Bytes bad_entry = f.e1->bytes();
  bad_entry[0] = 2;
  std::istringstream in(
      RawBundle("PANDOBDL", 1, {{uint8_t{1}, bad_entry}, {uint8_t{1}, f.e2->bytes()}}));
  BundleReader reader(&in);
  EXPECT_EQ(reader.Next().code(), codes::kUnknownVersion);
  EXPECT_FALSE(reader.Next().ok());
}

TEST(BundleTest, FinishReportsAFailedStream) {
  Fixture f;
  std::ostringstream out;
  BundleWriter w(&out);
  w.WriteEntry(*f.e1);
  out.setstate(std::ios::badbit);
  EXPECT_EQ(w.Finish().code(), codes::kIo);
}

}  // namespace
}  // namespace pando
