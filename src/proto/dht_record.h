// Discovery's bytes (docs/dht-format.md): signed records of who carries a group or holds a
// feed, a blob piece or a mailbox's crates, and the four DHT messages that find and store
// them. Pure encoding, decoding and signing; the state machine that routes lookups is
// proto/dht.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/error.h"
#include "proto/types.h"

namespace pando::proto {

inline constexpr uint8_t kDhtVersion = 1;
inline constexpr std::string_view kDhtRecordDomain{"pando.dht.record.v1\0", 20};
inline constexpr std::string_view kDhtGroupDomain{"pando.dht.group.v1\0", 19};
inline constexpr std::string_view kDhtFeedDomain{"pando.dht.feed.v1\0", 18};

enum class DhtKind : uint8_t {
  kCarriesGroup = 1,
  kHoldsFeed = 2,
  kHoldsPiece = 3,
  kHoldsMailbox = 4,
};
inline constexpr uint8_t kDhtKindMax = 4;

inline constexpr uint32_t kDhtTtlMinS = 60;
inline constexpr uint32_t kDhtTtlMaxS = 86'400;
inline constexpr int64_t kDhtClockSkewMs = 60'000;
inline constexpr size_t kDhtAddressMax = 255;
inline constexpr size_t kDhtRecordBytesMax = 143 + kDhtAddressMax;
inline constexpr size_t kDhtNodesMax = 20;    // Node ids in one FOUND.
inline constexpr size_t kDhtRecordsMax = 16;  // Records in one FOUND.
inline constexpr size_t kDhtMessageBytesMax =
    2 + 4 + 1 + kDhtNodesMax * 8 + 1 + kDhtRecordsMax * (2 + kDhtRecordBytesMax);

// The keys of kinds 1 and 2.
Hash32 DhtGroupKey(std::string_view group);
Hash32 DhtFeedKey(const PublicKey& author);
// A key's point on the ring: its first 8 bytes, little-endian.
uint64_t DhtPoint(const Hash32& key);
// A key whose point is `point` (the rest zero): the target of a lookup for a point.
Hash32 DhtKeyAt(uint64_t point);

struct DhtRecord {
  DhtKind kind = DhtKind::kCarriesGroup;
  Hash32 key{};
  PublicKey publisher{};
  int64_t issued_ms = 0;
  uint32_t ttl_s = 0;
  std::string address;
  Signature signature{};
  Bytes bytes;  // The encoding, kept: records are relayed and hashed as they came.

  int64_t expires_ms() const { return issued_ms + int64_t{1000} * ttl_s; }
  Hash32 id() const { return Blake2b256(bytes); }
};
using DhtRecordRef = std::shared_ptr<const DhtRecord>;

// Signs a record. The arguments must satisfy the decoder's rules (CHECKed).
DhtRecord SignDhtRecord(DhtKind kind, const Hash32& key, const KeyPair& publisher,
                        std::string address, int64_t issued_ms, uint32_t ttl_s);
// Parses record bytes; does not check the signature. Error: MALFORMED.
Result<DhtRecord> DecodeDhtRecord(ByteSpan bytes);
// Checks the signature. Error: BAD_SIGNATURE.
Status VerifyDhtRecord(const DhtRecord& r);
// Whether a node whose wall clock reads now_ms stores and serves it (its signature
// checked apart): issued at most a minute ahead, not expired. Errors: FUTURE_TIMESTAMP,
// EXPIRED.
Status DhtRecordFresh(const DhtRecord& r, int64_t now_ms);
// Of two records with one (kind, key, publisher), whether a replaces b: the later
// issued_ms, then the greater id.
bool DhtRecordNewer(const DhtRecord& a, const DhtRecord& b);

// --- Messages -------------------------------------------------------------------------------

struct DhtFind {
  static constexpr std::string_view kName = "DHT_FIND";
  uint32_t rpc = 0;
  Hash32 target{};
  uint8_t kind = 0;  // 0: nodes only; else the kind of records wanted.
};
struct DhtFound {
  static constexpr std::string_view kName = "DHT_FOUND";
  uint32_t rpc = 0;
  std::vector<NodeId> nodes;
  std::vector<DhtRecordRef> records;
};
struct DhtStore {
  static constexpr std::string_view kName = "DHT_STORE";
  uint32_t rpc = 0;
  DhtRecordRef record;
};
// kFar: the receiver knows k nodes nearer the key than itself, so it is not where the
// record belongs.
enum class DhtStoreCode : uint8_t { kStored = 0, kInvalid = 1, kFull = 2, kRate = 3, kFar = 4 };
struct DhtStored {
  static constexpr std::string_view kName = "DHT_STORED";
  uint32_t rpc = 0;
  DhtStoreCode code = DhtStoreCode::kStored;
};
// The flooded fallback (docs/dht-format.md, "Flooded queries"): a query for records of
// (kind, target) that travels over overlay links, `hops` more at most, and the records a
// node found for it, sent back along the query's path.
inline constexpr uint8_t kDhtFloodHopsMax = 8;
struct DhtFlood {
  static constexpr std::string_view kName = "DHT_FLOOD";
  uint64_t query = 0;  // Chosen by the asker; the same on every hop.
  Hash32 target{};
  uint8_t kind = 1;  // 1 to 4.
  uint8_t hops = 1;  // Hops left, this one included: 1 to 8.
};
struct DhtFloodHit {
  static constexpr std::string_view kName = "DHT_FLOOD_HIT";
  uint64_t query = 0;
  std::vector<DhtRecordRef> records;  // 1 to 16.
};
using DhtMessage = std::variant<DhtFind, DhtFound, DhtStore, DhtStored, DhtFlood, DhtFloodHit>;

Bytes EncodeDhtMessage(const DhtMessage& m);
// Error: MALFORMED (a record the record decoder refuses included).
Result<DhtMessage> DecodeDhtMessage(ByteSpan bytes);
// The node ids a message names (FOUND's), for the transport's peer records.
std::vector<NodeId> DhtNamedIds(const DhtMessage& m);
// Bytes on the wire, without encoding (the simulator's accounting).
size_t DhtMessageBytes(const DhtMessage& m);
inline size_t EncodedSize(const DhtMessage& m) { return DhtMessageBytes(m); }

}  // namespace pando::proto
