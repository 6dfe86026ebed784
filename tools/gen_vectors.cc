// pando_gen_vectors: prints the golden entry vectors of docs/entry-vectors.md as Markdown.
//
// Every input is fixed and Ed25519 signing in libsodium is deterministic, so the output never
// changes. tests/core/golden_vectors_test.cc hard-codes the same inputs and outputs; if this
// program ever prints something different, the entry format (or a primitive) has changed.
//
// After the valid vectors it prints the refused vectors: bytes that must be refused, each with
// the code Pando's own checks give it (Entry::Decode, then Store::Add into a fresh store that
// holds the case's stored entry, if any). tests/store/refused_vectors_test.cc checks the
// page's cases against the same code.
//
// Usage: pando_gen_vectors > vectors.md

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/entry.h"
#include "core/error_codes.h"
#include "testutil/feed.h"
#include "testutil/verdict.h"

namespace {

using pando::Bytes;
using pando::Hash32;
using pando::Seed;
using pando::Status;

struct Vector {
  std::string name;
  std::string description;
  Seed seed;
  pando::EntryDraft draft;
  std::string payload_note;       // How the payload was built, for the document.
  bool prev_is_first_id = false;  // prev is the id of vector 1.
};

Seed FilledSeed(uint8_t value) {
  Seed s;
  s.fill(value);
  return s;
}

Hash32 FilledHash(uint8_t value) {
  Hash32 h;
  h.fill(value);
  return h;
}

std::string Count(size_t bytes) {
  return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
}

Bytes BytesOf(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Prints hex in lines of 64 characters.
void PrintWrapped(const std::string& hex) {
  std::printf("```\n");
  for (size_t i = 0; i < hex.size(); i += 64) std::printf("%s\n", hex.substr(i, 64).c_str());
  if (hex.empty()) std::printf("(empty)\n");
  std::printf("```\n\n");
}

std::vector<Vector> MakeVectors() {
  std::vector<Vector> v;

  Vector v1;
  v1.name = "1. first-entry";
  v1.description = "The first entry of a feed: seq 1, all-zero prev, a short ASCII payload.";
  v1.seed = FilledSeed(0x01);
  v1.draft.seq = 1;
  v1.draft.timestamp_ms = 1700000000000;
  v1.draft.group = "general";
  v1.draft.kind = 1;
  v1.draft.payload = BytesOf("Hello, Pando!");
  v1.payload_note = "ASCII `Hello, Pando!`";
  v.push_back(v1);

  Vector v2;
  v2.name = "2. second-entry";
  v2.description = "The second entry of the same feed; prev is the id of vector 1.";
  v2.seed = FilledSeed(0x01);
  v2.draft.seq = 2;
  v2.prev_is_first_id = true;
  v2.draft.timestamp_ms = 1700000060000;
  v2.draft.group = "general";
  v2.draft.kind = 1;
  v2.draft.payload = BytesOf("Second entry.");
  v2.payload_note = "ASCII `Second entry.`";
  v.push_back(v2);

  Vector v3;
  v3.name = "3. empty-payload";
  v3.description = "An empty payload (payload_len 0), kind 0, a one-character group.";
  v3.seed = FilledSeed(0x02);
  v3.draft.seq = 1;
  v3.draft.timestamp_ms = 1700000000000;
  v3.draft.group = "a";
  v3.draft.kind = 0;
  v3.payload_note = "empty";
  v.push_back(v3);

  Vector v4;
  v4.name = "4. all-byte-values";
  v4.description = "A binary payload holding every byte value 0x00..0xff once, in order.";
  for (size_t i = 0; i < v4.seed.size(); ++i) v4.seed[i] = static_cast<uint8_t>(i);
  v4.draft.seq = 1;
  v4.draft.timestamp_ms = 1234567890123;
  v4.draft.group = "bin.data_01";
  v4.draft.kind = 0x1234;
  for (int i = 0; i < 256; ++i) v4.draft.payload.push_back(static_cast<uint8_t>(i));
  v4.payload_note = "0x00, 0x01, ..., 0xff";
  v.push_back(v4);

  Vector v5;
  v5.name = "5. max-length-group";
  v5.description = "A group name of exactly 64 bytes (the maximum), seq 5 with a fixed prev.";
  v5.seed = FilledSeed(0x03);
  v5.draft.seq = 5;
  v5.draft.prev = FilledHash(0xab);
  v5.draft.timestamp_ms = 1700000000000;
  v5.draft.group = "max-length.group_name-0123456789-abcdefghijklmnopqrstuvwxyz-0000";
  v5.draft.kind = 3;
  v5.draft.payload = BytesOf("64");
  v5.payload_note = "ASCII `64`";
  v.push_back(v5);

  Vector v6;
  v6.name = "6. unicode-markdown";
  v6.description = "A UTF-8 Markdown payload with non-ASCII text, CJK and an emoji.";
  v6.seed = FilledSeed(0x04);
  v6.draft.seq = 3;
  v6.draft.prev = FilledHash(0x11);
  v6.draft.timestamp_ms = 1735689600000;
  v6.draft.group = "notes";
  v6.draft.kind = 2;
  v6.draft.payload = BytesOf("# Grüße aus Zürich\n\n*Pando* — 分散型 📚\n");
  v6.payload_note =
      "UTF-8 `# Grüße aus Zürich\\n\\n*Pando* — 分散型 📚\\n` (each \\n is one 0x0a byte)";
  v.push_back(v6);

  Vector v7;
  v7.name = "7. extreme-values";
  v7.description =
      "The largest seq and timestamp_ms (2^63-1), kind 0xffff and an all-0xff prev: checks "
      "little-endian encoding of every fixed-width field.";
  v7.seed = FilledSeed(0xff);
  v7.draft.seq = 0x7fffffffffffffffULL;
  v7.draft.prev = FilledHash(0xff);
  v7.draft.timestamp_ms = INT64_MAX;
  v7.draft.group = "z";
  v7.draft.kind = 0xffff;
  v7.draft.payload = BytesOf("x");
  v7.payload_note = "ASCII `x`";
  v.push_back(v7);

  return v;
}

// --- Refused vectors ------------------------------------------------------------------------

struct Refused {
  std::string name;
  std::string why;              // For the document: what is wrong, and which rule decides.
  Bytes bytes;                  // The input, without the trailing zeros.
  size_t zeros = 0;             // Zero bytes appended to `bytes`.
  std::optional<Bytes> stored;  // An entry stored before the input arrives.
  int64_t now_ms = 0;
};

constexpr int64_t kRefusedNowMs = 1700000100000;

void PutU64At(Bytes& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// The entry of seed 01 in group "general" with these fields, properly signed.
Bytes Signed(uint64_t seq, const Hash32& prev, int64_t timestamp_ms, const std::string& text) {
  pando::EntryDraft d;
  d.seq = seq;
  d.prev = prev;
  d.timestamp_ms = timestamp_ms;
  d.group = "general";
  d.kind = 1;
  d.payload = BytesOf(text);
  return pando::testing::SignOrDie(d, pando::KeyPair::FromSeed(FilledSeed(0x01))).bytes();
}

Bytes BadSignature(Bytes b) {
  b[b.size() - 64] ^= 1;
  return b;
}

std::vector<Refused> MakeRefused(const Bytes& first) {
  namespace layout = pando::entry_layout;
  const Hash32 first_id = pando::Blake2b256(first);
  const int64_t first_ms = 1700000000000;
  auto with = [&](auto change) {
    Bytes b = first;
    change(b);
    return b;
  };
  std::vector<Refused> r;
  auto add = [&](std::string name, std::string why, Bytes bytes, bool after_first = false) {
    r.push_back({std::move(name), std::move(why), std::move(bytes), 0,
                 after_first ? std::optional<Bytes>(first) : std::nullopt, kRefusedNowMs});
  };
  add("empty", "No bytes at all (rule 1).", {});
  add("version-2", "Vector 1 with version 2 (rule 2).", with([](Bytes& b) { b[0] = 2; }));
  r.push_back({"version-2-oversize",
               "Version 2 and 65,753 bytes: the version is checked first (rules 2, 3).",
               {2},
               65752,
               std::nullopt,
               kRefusedNowMs});
  r.push_back({"oversize",
               "Version 1 and 65,753 bytes, one more than any entry (rule 3).",
               {1},
               65752,
               std::nullopt,
               kRefusedNowMs});
  add("shorter-than-fixed", "The first 151 bytes of vector 1 (rule 4).",
      Bytes(first.begin(), first.begin() + 151));
  add("seq-0", "Vector 1 with seq 0 (rule 5).",
      with([](Bytes& b) { PutU64At(b, layout::kSeq, 0); }));
  add("seq-2^63", "Vector 1 with seq 2^63 and a non-zero prev (rule 5).", with([](Bytes& b) {
        PutU64At(b, layout::kSeq, uint64_t{1} << 63);
        b[layout::kPrev] = 1;
      }));
  add("timestamp-2^63", "Vector 1 with timestamp_ms 2^63 (rule 6).",
      with([](Bytes& b) { PutU64At(b, layout::kTimestamp, uint64_t{1} << 63); }));
  add("group-past-end", "Vector 1 with group_len 200, past the end of the input (rule 7).",
      with([](Bytes& b) { b[layout::kGroupLen] = 200; }));
  add("group-upper-case", "Vector 1 with the group `General` (rule 8).",
      with([](Bytes& b) { b[layout::kGroup] = 'G'; }));
  add("group-empty", "Vector 1 with group_len 0 (rule 8).",
      with([](Bytes& b) { b[layout::kGroupLen] = 0; }));
  add("payload-len-65537", "Vector 1 with payload_len 65,537 (rule 9, before rule 10).",
      with([](Bytes& b) {
        b[layout::kGroup + 7] = 0x01;
        b[layout::kGroup + 8] = 0x00;
        b[layout::kGroup + 9] = 0x01;
        b[layout::kGroup + 10] = 0x00;
      }));
  add("trailing-byte", "Vector 1 followed by one zero byte (rule 10).",
      with([](Bytes& b) { b.push_back(0); }));
  add("cut-short", "Vector 1 without its last byte (rule 10).",
      with([](Bytes& b) { b.pop_back(); }));
  add("seq-1-prev-set", "Vector 1 with a non-zero prev (rule 11).",
      with([](Bytes& b) { b[layout::kPrev] = 1; }));
  add("seq-2-prev-zero", "Vector 1 with seq 2 and its all-zero prev (rule 11).",
      with([](Bytes& b) { PutU64At(b, layout::kSeq, 2); }));
  add("future", "Signed, timestamp_ms 300,001 ms after now_ms (rule 12).",
      Signed(1, Hash32{}, kRefusedNowMs + 300001, "From the future."));
  add("future-bad-signature",
      "The same with a damaged signature: the clock is checked before the signature.",
      BadSignature(Signed(1, Hash32{}, kRefusedNowMs + 300001, "From the future.")));
  add("bad-signature", "Vector 1 with the first signature byte changed (authentication).",
      BadSignature(first));
  add("duplicate", "Vector 1 again, once it is stored (rule 14).", first, true);
  add("fork", "Another seq 1 of the same author and group (rule 15).",
      Signed(1, Hash32{}, first_ms, "Another first entry."), true);
  add("seq-gap", "Seq 3 after seq 1 (rule 16).",
      Signed(3, FilledHash(0x11), first_ms, "Too far ahead."), true);
  add("seq-gap-bad-signature",
      "The same with a damaged signature: authentication comes before the feed checks.",
      BadSignature(Signed(3, FilledHash(0x11), first_ms, "Too far ahead.")), true);
  add("wrong-prev", "Seq 2 whose prev is not vector 1's id (rule 17).",
      Signed(2, FilledHash(0x11), first_ms, "Wrong prev."), true);
  add("timestamp-regression", "Seq 2 after vector 1, 1 ms earlier (rule 18).",
      Signed(2, first_id, first_ms - 1, "Earlier."), true);
  return r;
}

std::string_view Verdict(const Refused& c) {
  Bytes bytes = c.bytes;
  bytes.resize(bytes.size() + c.zeros, 0);
  return pando::testing::EntryVerdict(bytes, c.stored, c.now_ms);
}

void PrintRefused(const std::vector<Refused>& cases) {
  std::printf("## Refused vectors\n\n");
  std::printf(
      "Inputs that every implementation must refuse, each with the one code Pando gives it:\n"
      "the first failure in the order of [entry-format.md](entry-format.md#validation)\n"
      "(structure, clock, authentication, feed). One case per line in the block below:\n\n"
      "- `case`: the case's name;\n"
      "- `now_ms`: the receiving node's clock;\n"
      "- `stored`: the entry the node holds before the input arrives (hex; `-` for none);\n"
      "  every case that holds one holds vector 1 (`first-entry`), the head of its feed;\n"
      "- `code`: the verdict;\n"
      "- `hex`: the input, followed by `zeros` zero bytes when `zeros` is given.\n\n"
      "`tests/store/refused_vectors_test.cc` gives each input to `Entry::Decode` and then to\n"
      "`Store::Add` of a fresh store holding `stored`, and checks the code; the cases were\n"
      "printed the same way by `tools/gen_vectors.cc`. `tests/web/app_test.mjs` checks the\n"
      "browser's decoder against the cases refused by the bytes alone.\n\n");
  for (const Refused& c : cases) std::printf("- `%s`: %s\n", c.name.c_str(), c.why.c_str());
  std::printf("\n```\n");
  for (const Refused& c : cases) {
    std::printf("case=%s now_ms=%lld stored=%s code=%.*s hex=%s", c.name.c_str(),
                static_cast<long long>(c.now_ms), c.stored ? pando::ToHex(*c.stored).c_str() : "-",
                static_cast<int>(Verdict(c).size()), Verdict(c).data(),
                pando::ToHex(c.bytes).c_str());
    if (c.zeros > 0) std::printf(" zeros=%zu", c.zeros);
    std::printf("\n");
  }
  std::printf("```\n");
}

}  // namespace

int main() {
  std::vector<Vector> vectors = MakeVectors();
  Hash32 first_id{};
  Bytes first_bytes;
  for (Vector& v : vectors) {
    pando::KeyPair key = pando::KeyPair::FromSeed(v.seed);
    if (v.prev_is_first_id) v.draft.prev = first_id;
    auto entry = pando::Entry::Sign(v.draft, key);
    if (!entry.ok()) {
      std::fprintf(stderr, "%s: %s\n", v.name.c_str(), entry.error().ToString().c_str());
      return 1;
    }
    if (&v == &vectors.front()) {
      first_id = entry->id();
      first_bytes = entry->bytes();
    }

    // The signed message: domain tag, then body (sized up front; GCC 12 warns spuriously
    // about a vector growing from 15 bytes).
    Bytes message(pando::kEntrySignatureDomain.size() + entry->body().size());
    std::copy(pando::kEntrySignatureDomain.begin(), pando::kEntrySignatureDomain.end(),
              message.begin());
    std::copy(entry->body().begin(), entry->body().end(),
              message.begin() + static_cast<std::ptrdiff_t>(pando::kEntrySignatureDomain.size()));
    const bool verifies = pando::VerifySignature(key.public_key(), message, entry->signature());
    if (!verifies || pando::Blake2b256(entry->bytes()) != entry->id()) {
      std::fprintf(stderr, "%s: self-check failed\n", v.name.c_str());
      return 1;
    }

    std::printf("## %s\n\n%s\n\n", v.name.c_str(), v.description.c_str());
    std::printf("Inputs:\n\n");
    std::printf("- seed: `%s`\n", pando::ToHex(v.seed).c_str());
    std::printf("- seq: %llu\n", static_cast<unsigned long long>(v.draft.seq));
    std::printf("- prev: `%s`\n", pando::ToHex(v.draft.prev).c_str());
    std::printf("- timestamp_ms: %lld\n", static_cast<long long>(v.draft.timestamp_ms));
    std::printf("- kind: %u (0x%04x)\n", v.draft.kind, v.draft.kind);
    std::printf("- group (%s): `%s`\n", Count(v.draft.group.size()).c_str(), v.draft.group.c_str());
    std::printf("- payload (%s): %s\n\n", Count(v.draft.payload.size()).c_str(),
                v.payload_note.c_str());
    if (!v.draft.payload.empty()) {
      std::printf("Payload hex:\n\n");
      PrintWrapped(pando::ToHex(v.draft.payload));
    }
    std::printf("Outputs:\n\n");
    std::printf("- public key: `%s`\n", pando::ToHex(key.public_key()).c_str());
    std::printf("- author id: `%s`\n", pando::AuthorId(key.public_key()).c_str());
    std::printf("- entry length: %zu bytes\n\n", entry->bytes().size());
    std::printf("Entry (hex):\n\n");
    PrintWrapped(pando::ToHex(entry->bytes()));
    std::printf("Signature (hex):\n\n");
    PrintWrapped(pando::ToHex(entry->signature()));
    std::printf("Id = BLAKE2b-256(entry):\n\n");
    PrintWrapped(pando::ToHex(entry->id()));
    std::printf("Sanity checks:\n\n");
    std::printf("- BLAKE2b-256(\"pando.entry.v1\\0\" || body) = `%s`\n",
                pando::ToHex(pando::Blake2b256(message)).c_str());
    std::printf(
        "- Ed25519-Verify(public key, \"pando.entry.v1\\0\" || body, signature) = true; "
        "the signed message is %zu bytes (15 + %zu)\n\n",
        message.size(), entry->body().size());
  }
  PrintRefused(MakeRefused(first_bytes));
  return 0;
}
