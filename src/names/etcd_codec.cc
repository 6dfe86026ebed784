#include "names/etcd_codec.h"

#include <sodium.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"

namespace pando::names::etcd {
namespace {

using nlohmann::json;

Error Unreadable(std::string_view what) {
  return Error{codes::kStore, "etcd answered with " + std::string(what) + "."};
}

// obj[name], or nullptr if obj is not an object or has no such field (a default value).
const json* Field(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

// An int64 field: a decimal string as proto3 JSON writes it, or a JSON integer; 0 if absent.
bool ReadInt64(const json* v, int64_t* out) {
  *out = 0;
  if (v == nullptr) return true;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return false;
      *out = static_cast<int64_t>(u);
      return true;
    }
    *out = v->get<int64_t>();
    return true;
  }
  if (!v->is_string()) return false;
  const std::string& s = v->get_ref<const std::string&>();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// A bytes field; empty if absent.
bool ReadBytes(const json* v, Bytes* out) {
  out->clear();
  if (v == nullptr) return true;
  if (!v->is_string()) return false;
  auto b = FromBase64(v->get_ref<const std::string&>());
  if (!b) return false;
  *out = std::move(*b);
  return true;
}

bool ReadBool(const json* v, bool* out) {
  *out = false;
  if (v == nullptr) return true;
  if (!v->is_boolean()) return false;
  *out = v->get<bool>();
  return true;
}

// Appends the pairs of a RangeResponse's "kvs" to out.
bool ReadKvs(const json& range, std::vector<Kv>* out) {
  const json* kvs = Field(range, "kvs");
  if (kvs == nullptr) return true;
  if (!kvs->is_array()) return false;
  for (const json& item : *kvs) {
    if (!item.is_object()) return false;
    Kv kv;
    Bytes key;
    if (!ReadBytes(Field(item, "key"), &key) || !ReadBytes(Field(item, "value"), &kv.value) ||
        !ReadInt64(Field(item, "create_revision"), &kv.create_revision) ||
        !ReadInt64(Field(item, "mod_revision"), &kv.mod_revision)) {
      return false;
    }
    kv.key.assign(key.begin(), key.end());
    out->push_back(std::move(kv));
  }
  return true;
}

json Parse(std::string_view body) {
  if (body.size() > kResponseBytesMax) return json(json::value_t::discarded);
  return json::parse(body.begin(), body.end(), nullptr, false);
}

std::string B64(std::string_view s) { return ToBase64(AsBytes(s)); }

json RangeOp(std::string_view key) { return json{{"request_range", {{"key", B64(key)}}}}; }

json PutOp(std::string_view key, ByteSpan value) {
  return json{{"request_put", {{"key", B64(key)}, {"value", ToBase64(value)}}}};
}

}  // namespace

std::string ToBase64(ByteSpan bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // The terminating NUL.
  return out;
}

std::optional<Bytes> FromBase64(std::string_view text) {
  Bytes out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  // With no end pointer, libsodium refuses any character that is not base64.
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string RecordKey(std::string_view prefix, std::string_view normal) {
  return std::string(prefix) + "s/" + Skeleton(normal);
}

std::string OwnerPrefix(std::string_view prefix, const PublicKey& owner) {
  return std::string(prefix) + "o/" + ToHex(owner) + "/";
}

std::string OwnerKey(std::string_view prefix, const PublicKey& owner, std::string_view normal) {
  return OwnerPrefix(prefix, owner) + std::string(normal);
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string RangeRequest(std::string_view key, std::string_view range_end, int64_t limit,
                         int64_t revision) {
  json j{{"key", B64(key)}};
  if (!range_end.empty()) j["range_end"] = B64(range_end);
  if (limit > 0) j["limit"] = std::to_string(limit);
  if (revision > 0) j["revision"] = std::to_string(revision);
  return j.dump();
}

std::string CreateTxn(std::string_view key, ByteSpan value, std::string_view index_key) {
  json j{{"compare", json::array({{{"target", "CREATE"},
                                   {"result", "EQUAL"},
                                   {"key", B64(key)},
                                   {"create_revision", "0"}}})},
         {"success", json::array({PutOp(key, value), PutOp(index_key, value)})},
         {"failure", json::array({RangeOp(key)})}};
  return j.dump();
}

std::string ReplaceTxn(std::string_view key, int64_t mod_revision, ByteSpan value,
                       std::string_view old_index_key, std::string_view new_index_key) {
  json success = json::array({PutOp(key, value)});
  // etcd refuses a txn that deletes and puts one key, so a transfer to the same owner only puts.
  if (old_index_key != new_index_key) {
    success.push_back({{"request_delete_range", {{"key", B64(old_index_key)}}}});
  }
  success.push_back(PutOp(new_index_key, value));
  json j{{"compare", json::array({{{"target", "MOD"},
                                   {"result", "EQUAL"},
                                   {"key", B64(key)},
                                   {"mod_revision", std::to_string(mod_revision)}}})},
         {"success", std::move(success)},
         {"failure", json::array({RangeOp(key)})}};
  return j.dump();
}

std::string PutRequest(std::string_view key, ByteSpan value) {
  return json{{"key", B64(key)}, {"value", ToBase64(value)}}.dump();
}

Result<RangeReply> ParseRange(std::string_view body) {
  const json j = Parse(body);
  if (!j.is_object()) return Unreadable("a range answer that is not a JSON object");
  RangeReply r;
  if (!ReadKvs(j, &r.kvs) || !ReadBool(Field(j, "more"), &r.more)) {
    return Unreadable("a range answer whose pairs Pando cannot read");
  }
  const json* header = Field(j, "header");
  if (!ReadInt64(header ? Field(*header, "revision") : nullptr, &r.revision)) {
    return Unreadable("a range answer whose revision Pando cannot read");
  }
  return r;
}

Result<TxnReply> ParseTxn(std::string_view body) {
  const json j = Parse(body);
  if (!j.is_object()) return Unreadable("a transaction answer that is not a JSON object");
  TxnReply r;
  if (!ReadBool(Field(j, "succeeded"), &r.succeeded)) {
    return Unreadable("a transaction answer whose outcome Pando cannot read");
  }
  const json* responses = Field(j, "responses");
  if (responses == nullptr) return r;
  if (!responses->is_array()) return Unreadable("a transaction answer without a list of responses");
  for (const json& op : *responses) {
    if (!op.is_object()) return Unreadable("a transaction response that is not an object");
    const json* range = Field(op, "response_range");
    if (range != nullptr && !ReadKvs(*range, &r.kvs)) {
      return Unreadable("a transaction whose read Pando cannot read");
    }
  }
  return r;
}

std::optional<EtcdError> ParseError(std::string_view body) {
  const json j = Parse(body);
  if (!j.is_object()) return std::nullopt;
  EtcdError e;
  const json* message = Field(j, "message");
  if (message == nullptr || !message->is_string()) message = Field(j, "error");
  if (message == nullptr || !message->is_string()) return std::nullopt;
  e.message = message->get<std::string>();
  if (!ReadInt64(Field(j, "code"), &e.code)) return std::nullopt;
  return e;
}

bool IsTransient(int http_status, const std::optional<EtcdError>& error) {
  if (http_status >= 500 || http_status == 408 || http_status == 429) return true;
  if (!error) return false;
  if (error->code == 14 || error->code == 4 || error->code == 1) return true;
  // etcd's own words for a member that cannot serve now (its rpctypes errors).
  for (std::string_view transient : {"leader changed", "no leader", "not leader", "timed out",
                                     "too many requests", "server stopped", "unhealthy cluster"}) {
    if (error->message.find(transient) != std::string::npos) return true;
  }
  return false;
}

Result<Record> RecordOf(const Kv& kv, std::string_view prefix) {
  const Error damaged{codes::kStore, "The name registry holds a damaged claim."};
  auto claim = DecodeClaim(kv.value);
  if (!claim.ok() || !VerifyClaim(*claim).ok()) return damaged;
  if (kv.key != RecordKey(prefix, claim->name) &&
      kv.key != OwnerKey(prefix, claim->owner, claim->name)) {
    return damaged;  // A valid claim, but for another name or owner than the key says.
  }
  Record r;
  r.name = claim->name;
  r.owner = claim->owner;
  r.claim = std::move(*claim);
  return r;
}

}  // namespace pando::names::etcd
