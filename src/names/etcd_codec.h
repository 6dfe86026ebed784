// The bytes EtcdRegistry exchanges with etcd's v3 JSON gateway (docs/names.md, "etcd
// backend"): the key layout, the request bodies, and the parsing of the answers. Pure code, no
// I/O. Answers come from the network, so every parser takes the body's bytes and refuses what
// it cannot read with STORE_ERROR; fuzz/etcd_response_fuzz.cc runs them on arbitrary bytes.
//
// The gateway speaks proto3 JSON: bytes fields (keys, values) are base64, int64 fields are
// decimal strings, and fields that hold their default value are left out ("succeeded" absent
// is false, "kvs" absent is no pairs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "names/registry.h"

namespace pando::names::etcd {

// The largest answer read from a member: a bigger one is refused, never buffered.
inline constexpr size_t kResponseBytesMax = 4 << 20;
// The most pairs one range asks for; NamesOf reads an owner's names in pages of this many.
inline constexpr int64_t kRangePairsMax = 1000;

// RFC 4648 base64 with padding, as the gateway writes bytes fields.
std::string ToBase64(ByteSpan bytes);
// nullopt unless text is base64 with padding and nothing else.
std::optional<Bytes> FromBase64(std::string_view text);

// Key layout under the configured prefix:
//   <prefix>s/<skeleton>               the record of the one name with that skeleton: the
//                                      claim that made it so (docs/names.md, "Claims")
//   <prefix>o/<owner hex>/<name>       the owner index: the same claim, for NamesOf
std::string RecordKey(std::string_view prefix, std::string_view normal);
std::string OwnerPrefix(std::string_view prefix, const PublicKey& owner);
std::string OwnerKey(std::string_view prefix, const PublicKey& owner, std::string_view normal);
// The end of the range of every key that starts with `prefix` (etcd's range_end): prefix
// with its last byte below 0xff incremented and the rest cut; "\0" (every key) if none.
std::string PrefixEnd(std::string_view prefix);

// POST /v3/kv/range: the pairs from key (only key, if range_end is empty) up to range_end,
// at most `limit` of them (0: no limit), as of `revision` (0: the newest). Linearizable.
std::string RangeRequest(std::string_view key, std::string_view range_end = {}, int64_t limit = 0,
                         int64_t revision = 0);
// POST /v3/kv/txn of a registration: if `key` was never created, put key = value and
// index_key = value; otherwise read key.
std::string CreateTxn(std::string_view key, ByteSpan value, std::string_view index_key);
// POST /v3/kv/txn of a transfer: if key was last modified at `mod_revision`, put key = value,
// delete old_index_key (unless it is new_index_key) and put new_index_key = value; otherwise
// read key.
std::string ReplaceTxn(std::string_view key, int64_t mod_revision, ByteSpan value,
                       std::string_view old_index_key, std::string_view new_index_key);
// POST /v3/kv/put: key = value, unconditionally (tests and repairs; the registry never does).
std::string PutRequest(std::string_view key, ByteSpan value);

// One key-value pair of an answer.
struct Kv {
  std::string key;
  Bytes value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

struct RangeReply {
  std::vector<Kv> kvs;
  bool more = false;     // More pairs are in the range than the limit let through.
  int64_t revision = 0;  // The store's revision the read saw (header.revision).
};

struct TxnReply {
  bool succeeded = false;  // Whether the compares held (the success branch ran).
  std::vector<Kv> kvs;     // The pairs every range of the branch that ran read, in order.
};

// An error answer of the gateway: {"error": ..., "message": ..., "code": gRPC status}.
struct EtcdError {
  std::string message;
  int64_t code = 0;  // gRPC status code: 14 is UNAVAILABLE, 4 DEADLINE_EXCEEDED.
};

// The answer to RangeRequest. Error: STORE_ERROR.
Result<RangeReply> ParseRange(std::string_view body);
// The answer to a txn. Error: STORE_ERROR.
Result<TxnReply> ParseTxn(std::string_view body);
// An error answer, or nullopt if the body is not one.
std::optional<EtcdError> ParseError(std::string_view body);
// Whether an answer with this HTTP status (and error body, if it had one) says the member
// cannot serve now (no leader, leader changed, timed out, overloaded, stopping), so that
// another member, or this one a little later, may: 5xx, 408, 429, gRPC UNAVAILABLE,
// DEADLINE_EXCEEDED or CANCELLED, or one of etcd's transient messages.
bool IsTransient(int http_status, const std::optional<EtcdError>& error);

// The record a pair holds, after checking everything the cluster could get wrong: the value
// decodes as a claim, the claim verifies, and the key is the record key or the owner index
// key of that claim under `prefix`. Error: STORE_ERROR, "The name registry holds a damaged
// claim.", since a registry must not be able to speak for anyone.
Result<Record> RecordOf(const Kv& kv, std::string_view prefix);

}  // namespace pando::names::etcd
