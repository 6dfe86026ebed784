// Node's side of unique names (node.h, "Names"; docs/names.md): registry calls off the loop,
// attestations signed after a registration, and whom the node believes.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "node/names.h"
#include "node/node.h"
#include "node/node_internal.h"

namespace pando::node {
namespace {

// Registry calls that may wait for a names thread; more are refused at once.
constexpr size_t kNameJobsMax = 1024;
constexpr size_t kNameThreads = 4;
// How long a node of the remote backend waits for the registry node's attestation.
constexpr auto kAttestationWait = std::chrono::seconds(3);

// A registry cannot speak for anyone: a record it returns must carry its owner's signature
// over the very name and owner it states.
Status CheckRecord(const names::Record& rec) {
  if (names::VerifyClaim(rec.claim).ok() && rec.claim.owner == rec.owner &&
      rec.claim.name == rec.name) {
    return Status::Ok();
  }
  return Error{codes::kStore,
               "The registry answered with a record its owner did not sign; the node refuses it."};
}

Error NoRegistry() {
  return Error{codes::kNoRegistry,
               "This node runs without a name registry (names_backend = \"none\"); author ids "
               "(pd...) work without one."};
}

}  // namespace

Status Node::OpenNames() {
  auto registry = OpenRegistry(config_);
  if (!registry.ok()) return registry.error();
  registry_ = std::move(registry).value();
  if (registry_) name_workers_ = std::make_unique<Waiter>(kNameThreads);
  return Status::Ok();
}

template <typename T>
void Node::OffLoop(std::function<Result<T>(names::Registry&)> job,
                   std::function<void(Result<T>)> done) {
  if (!registry_) return done(NoRegistry());
  auto shared_done = std::make_shared<std::function<void(Result<T>)>>(std::move(done));
  const bool queued = name_workers_->TryAdd(
      [this, job = std::move(job), shared_done] {
        Result<T> r = job(*registry_);
        boost::asio::post(
            io_, [r = std::move(r), shared_done]() mutable { (*shared_done)(std::move(r)); });
      },
      kNameJobsMax);
  if (!queued) {
    (*shared_done)(Error{codes::kRegistryUnavailable,
                         "The registry has too many calls waiting; try again in a moment."});
  }
}

void Node::RegisterName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) {
  OffLoop<names::RegisterResult>(
      [claim](names::Registry& r) { return r.Register(claim); },
      [this, claim, done = std::move(done)](Result<names::RegisterResult> r) mutable {
        FinishName(std::move(claim), std::move(r), std::move(done));
      });
}

void Node::TransferName(names::Claim claim, std::function<void(Result<NameAnswer>)> done) {
  OffLoop<names::RegisterResult>(
      [claim](names::Registry& r) { return r.Transfer(claim); },
      [this, claim, done = std::move(done)](Result<names::RegisterResult> r) mutable {
        FinishName(std::move(claim), std::move(r), std::move(done));
      });
}

void Node::FinishName(names::Claim claim, Result<names::RegisterResult> r,
                      std::function<void(Result<NameAnswer>)> done) {
  if (!r.ok()) return done(r.error());
  const bool made =
      r->outcome == names::Outcome::kRegistered || r->outcome == names::Outcome::kTransferred;
  NameAnswer answer{std::move(r).value(), std::nullopt};
  if (!made) return done(std::move(answer));
  if (config_.names_backend == "remote") {
    // The registry node attests; the answer waits until its attestation is here too, so that
    // this node's /@name page shows the name as soon as the caller hears of it.
    answer.attestation = answer.result.attestation;
    if (!answer.attestation) return done(std::move(answer));
    const Hash32 id = *answer.attestation;
    return WaitForEntry(id, kAttestationWait,
                        [answer = std::move(answer), done = std::move(done)](bool) mutable {
                          done(std::move(answer));
                        });
  }
  // This node's registry made it: publish the attestation, unless this node attested this
  // very claim already (a client asking again after a lost answer). The registration stands
  // even if signing fails (the answer then has no attestation, and the log says so).
  const Bytes bytes = names::EncodeClaim(claim);
  auto earlier = store_->NameAttestations(kCatalogGroup, names::Skeleton(claim.name));
  if (earlier.ok()) {
    for (const Entry& e : *earlier) {
      if (e.author() == signing_key_->public_key() &&
          std::equal(e.payload().begin(), e.payload().end(), bytes.begin(), bytes.end())) {
        answer.attestation = e.id();
        answer.result.attestation = e.id();
        return done(std::move(answer));
      }
    }
  }
  PostSigned(std::string(kCatalogGroup), kinds::kName, bytes,
             [answer = std::move(answer), done = std::move(done)](Result<Entry> e) mutable {
               if (e.ok()) {
                 answer.attestation = e->id();
                 answer.result.attestation = e->id();
               } else {
                 spdlog::warn("name attestation not signed: {}", e.error().ToString());
               }
               done(std::move(answer));
             });
}

void Node::LookupName(std::string typed,
                      std::function<void(Result<std::optional<names::Record>>)> done) {
  OffLoop<std::optional<names::Record>>(
      [typed = std::move(typed)](names::Registry& r) -> Result<std::optional<names::Record>> {
        auto found = r.Lookup(typed);
        if (found.ok() && *found) PANDO_RETURN_IF_ERROR(CheckRecord(**found));
        return found;
      },
      std::move(done));
}

void Node::NamesOf(PublicKey owner, std::function<void(Result<std::vector<names::Record>>)> done) {
  OffLoop<std::vector<names::Record>>(
      [owner](names::Registry& r) -> Result<std::vector<names::Record>> {
        auto list = r.NamesOf(owner);
        if (!list.ok()) return list;
        for (const names::Record& rec : *list) {
          PANDO_RETURN_IF_ERROR(CheckRecord(rec));
          if (rec.owner != owner) {
            return Error{codes::kStore, "The registry answered with another owner's name."};
          }
        }
        return list;
      },
      std::move(done));
}

bool Node::TrustsAttester(const PublicKey& key) const {
  if (key == signing_key_->public_key()) return true;
  if (config_.names_remote && config_.names_remote->key == key) return true;
  for (const PublicKey& k : config_.names_attesters) {
    if (k == key) return true;
  }
  return false;
}

}  // namespace pando::node
