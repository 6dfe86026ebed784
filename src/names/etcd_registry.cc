#include "names/etcd_registry.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/error_codes.h"
#include "names/decide.h"
#include "names/etcd_codec.h"
#include "names/etcd_http.h"

namespace pando::names {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// The pause after a member failed to answer, doubling from the first to the last: long enough
// for an election (etcd's default election timeout is 1 s) to end within a few tries.
constexpr milliseconds kBackoffFirst{20};
constexpr milliseconds kBackoffMax{400};
// The longest key prefix accepted, so that every key stays well inside etcd's limits.
constexpr size_t kPrefixBytesMax = 256;

}  // namespace

struct EtcdRegistry::Impl {
  EtcdOptions options;
  std::vector<etcd::Endpoint> endpoints;
  // The member that answered last: the next call starts there.
  std::atomic<size_t> preferred{0};

  Clock::time_point Deadline() const { return Clock::now() + options.call_timeout; }
  Result<std::string> Call(std::string_view target, const std::string& body,
                           Clock::time_point deadline);
  Result<etcd::RangeReply> Range(const std::string& body, Clock::time_point deadline);
  Result<etcd::TxnReply> Txn(const std::string& body, Clock::time_point deadline);
  // The record under `key` among kvs (what a read of that key returned), or nullopt.
  Result<std::optional<Record>> RecordAt(const std::vector<etcd::Kv>& kvs, const std::string& key,
                                         int64_t* mod_revision = nullptr) const;
  std::string Unavailable(std::string_view last_problem) const;
};

Result<std::unique_ptr<EtcdRegistry>> EtcdRegistry::Open(EtcdOptions options) {
  auto impl = std::make_unique<Impl>();
  if (options.endpoints.empty()) {
    return Error{codes::kBadConfig, "The etcd registry needs at least one endpoint."};
  }
  for (const std::string& url : options.endpoints) {
    auto e = etcd::ParseEndpoint(url);
    if (!e.ok()) return e.error();
    impl->endpoints.push_back(std::move(*e));
  }
  if (options.request_timeout.count() <= 0 || options.call_timeout.count() <= 0) {
    return Error{codes::kBadConfig, "The etcd registry's timeouts must be positive."};
  }
  if (options.prefix.size() > kPrefixBytesMax) {
    return Error{codes::kBadConfig, "The etcd registry's key prefix is longer than " +
                                        std::to_string(kPrefixBytesMax) + " bytes."};
  }
  impl->options = std::move(options);
  return std::unique_ptr<EtcdRegistry>(new EtcdRegistry(std::move(impl)));
}

EtcdRegistry::EtcdRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EtcdRegistry::~EtcdRegistry() = default;

std::string EtcdRegistry::Impl::Unavailable(std::string_view last_problem) const {
  std::string urls;
  for (const etcd::Endpoint& e : endpoints) urls += (urls.empty() ? "" : ", ") + e.url;
  return "No member of the etcd cluster (" + urls + ") answered within " +
         std::to_string(options.call_timeout.count()) +
         " ms; the last problem: " + std::string(last_problem);
}

// Asks the members in turn, from the one that answered last, until one answers or the
// deadline passes. A member that cannot serve now (down, no leader, leader changed, timed out)
// is passed over; any other refusal is the answer. Retrying is safe because every write is a
// transaction whose compare fails if an earlier attempt already applied it.
Result<std::string> EtcdRegistry::Impl::Call(std::string_view target, const std::string& body,
                                             Clock::time_point deadline) {
  const size_t first = preferred.load(std::memory_order_relaxed);
  std::string last_problem = "none answered before the deadline.";
  milliseconds backoff = kBackoffFirst;
  for (size_t attempt = 0;; ++attempt) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    const size_t i = (first + attempt) % endpoints.size();
    auto reply = etcd::Post(endpoints[i], target, body, std::min(left, options.request_timeout));
    if (reply.ok() && reply->status == 200) {
      preferred.store(i, std::memory_order_relaxed);
      return std::move(reply->body);
    }
    if (!reply.ok()) {
      if (reply.code() == codes::kOversize) return Error{codes::kStore, reply.error().message};
      last_problem = reply.error().message;
    } else {
      const auto error = etcd::ParseError(reply->body);
      const std::string said = error ? error->message : "HTTP " + std::to_string(reply->status);
      if (!etcd::IsTransient(reply->status, error)) {
        return Error{codes::kStore, "etcd at " + endpoints[i].url + " refused: " + said + "."};
      }
      last_problem = endpoints[i].url + " said: " + said + ".";
    }
    std::this_thread::sleep_until(std::min(Clock::now() + backoff, deadline));
    backoff = std::min(backoff * 2, kBackoffMax);
  }
  return Error{codes::kRegistryUnavailable, Unavailable(last_problem)};
}

Result<etcd::RangeReply> EtcdRegistry::Impl::Range(const std::string& body,
                                                   Clock::time_point deadline) {
  auto answer = Call("/v3/kv/range", body, deadline);
  if (!answer.ok()) return answer.error();
  return etcd::ParseRange(*answer);
}

Result<etcd::TxnReply> EtcdRegistry::Impl::Txn(const std::string& body,
                                               Clock::time_point deadline) {
  auto answer = Call("/v3/kv/txn", body, deadline);
  if (!answer.ok()) return answer.error();
  return etcd::ParseTxn(*answer);
}

Result<std::optional<Record>> EtcdRegistry::Impl::RecordAt(const std::vector<etcd::Kv>& kvs,
                                                           const std::string& key,
                                                           int64_t* mod_revision) const {
  for (const etcd::Kv& kv : kvs) {
    if (kv.key != key) continue;
    auto r = etcd::RecordOf(kv, options.prefix);
    if (!r.ok()) return r.error();
    if (mod_revision != nullptr) *mod_revision = kv.mod_revision;
    return std::optional<Record>(std::move(*r));
  }
  return std::optional<Record>();
}

Result<RegisterResult> EtcdRegistry::Register(const Claim& claim) {
  if (auto refused = RefuseRegistration(claim)) return *refused;
  const auto deadline = impl_->Deadline();
  const Bytes bytes = EncodeClaim(claim);
  const std::string key = etcd::RecordKey(impl_->options.prefix, claim.name);
  auto txn = impl_->Txn(
      etcd::CreateTxn(key, bytes, etcd::OwnerKey(impl_->options.prefix, claim.owner, claim.name)),
      deadline);
  if (!txn.ok()) return txn.error();
  if (txn->succeeded) return Answer(Outcome::kRegistered);
  auto holder = impl_->RecordAt(txn->kvs, key);
  if (!holder.ok()) return holder.error();
  if (!*holder) {
    return Error{codes::kStore, "etcd refused to create " + key + " but did not show its record."};
  }
  return AnswerTaken(claim, std::move(**holder));
}

// Reads the record, decides, and replaces it only if it is still the one read (compare on its
// mod_revision); if it changed meanwhile, the transaction's failure branch read it again, and
// the decision is made again on that, until the call's deadline.
Result<RegisterResult> EtcdRegistry::Transfer(const Claim& claim) {
  if (auto refused = RefuseTransfer(claim)) return *refused;
  const auto deadline = impl_->Deadline();
  const std::string& prefix = impl_->options.prefix;
  const Bytes bytes = EncodeClaim(claim);
  const std::string key = etcd::RecordKey(prefix, claim.name);
  auto read = impl_->Range(etcd::RangeRequest(key), deadline);
  if (!read.ok()) return read.error();
  std::vector<etcd::Kv> seen = std::move(read->kvs);
  while (true) {
    int64_t mod_revision = 0;
    auto current = impl_->RecordAt(seen, key, &mod_revision);
    if (!current.ok()) return current.error();
    // A record of a confusable name holds the skeleton: this name itself has none.
    if (*current && (*current)->name != claim.name) current->reset();
    const PublicKey old_owner = *current ? (*current)->owner : PublicKey{};
    if (auto answer = DecideTransfer(claim, std::move(*current))) return *answer;
    auto txn = impl_->Txn(
        etcd::ReplaceTxn(key, mod_revision, bytes, etcd::OwnerKey(prefix, old_owner, claim.name),
                         etcd::OwnerKey(prefix, claim.owner, claim.name)),
        deadline);
    if (!txn.ok()) return txn.error();
    if (txn->succeeded) return Answer(Outcome::kTransferred);
    seen = std::move(txn->kvs);
  }
}

Result<std::optional<Record>> EtcdRegistry::Lookup(std::string_view typed) {
  auto normal = Normalize(typed);
  if (!normal.ok()) return std::optional<Record>();
  const std::string key = etcd::RecordKey(impl_->options.prefix, *normal);
  auto read = impl_->Range(etcd::RangeRequest(key), impl_->Deadline());
  if (!read.ok()) return read.error();
  auto found = impl_->RecordAt(read->kvs, key);
  if (!found.ok()) return found.error();
  // The skeleton's record may be a confusable name's: then nobody holds this exact one.
  if (*found && (*found)->name != *normal) return std::optional<Record>();
  return found;
}

// Reads the owner's index in pages, every page at the revision of the first, so that the
// list is one consistent snapshot however long it is.
Result<std::vector<Record>> EtcdRegistry::NamesOf(const PublicKey& owner) {
  const auto deadline = impl_->Deadline();
  const std::string& prefix = impl_->options.prefix;
  const std::string start = etcd::OwnerPrefix(prefix, owner);
  const std::string end = etcd::PrefixEnd(start);
  std::string from = start;
  int64_t revision = 0;
  std::vector<Record> out;
  while (true) {
    auto page =
        impl_->Range(etcd::RangeRequest(from, end, etcd::kRangePairsMax, revision), deadline);
    if (!page.ok()) return page.error();
    if (revision == 0) revision = page->revision;
    for (const etcd::Kv& kv : page->kvs) {
      auto r = etcd::RecordOf(kv, prefix);
      if (!r.ok()) return r.error();  // RecordOf checked the key names r's owner and name.
      out.push_back(std::move(*r));
    }
    if (!page->more || page->kvs.empty()) break;
    from = page->kvs.back().key + '\0';
  }
  return out;
}

}  // namespace pando::names
