// names::Registry: who holds which name (docs/names.md, "The registry"). Every record
// carries the owner's signed claim, so a registry can refuse or forget, but never speak
// for anyone.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "core/name_claim.h"
#include "store/sqlite.h"

namespace pando::names {

enum class Outcome {
  kRegistered,   // Register: the name is now the claim owner's.
  kTransferred,  // Transfer: the name now points at the new owner.
  kTaken,        // Register: the name, or a confusable one, has a record.
  kStale,        // Transfer: prev is not the current record (or there is none).
  kInvalid,      // The claim does not verify, or is not of the right kind.
};
inline std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kRegistered:
      return "registered";
    case Outcome::kTransferred:
      return "transferred";
    case Outcome::kTaken:
      return "taken";
    case Outcome::kStale:
      return "stale";
    case Outcome::kInvalid:
      return "invalid";
  }
  return "";
}

struct Record {
  std::string name;  // Normal form.
  PublicKey owner{};
  Claim claim;  // What made it so: the registration or the last transfer.
};

struct RegisterResult {
  Outcome outcome = Outcome::kInvalid;
  std::optional<Error> why;      // For kInvalid: which check failed.
  std::optional<Record> holder;  // For kTaken: the record that holds it (or the confusable).
  // For a registry reached through the node that hosts it: the attestation (an entry id)
  // that node published for this registration or transfer.
  std::optional<Hash32> attestation;
};

class Registry {
 public:
  virtual ~Registry() = default;
  // All in one atomic step. Errors only for failures of the backend itself.
  virtual Result<RegisterResult> Register(const Claim& claim) = 0;
  virtual Result<RegisterResult> Transfer(const Claim& claim) = 0;
  // `typed` in any case; nullopt for a name nobody holds (or an invalid one).
  virtual Result<std::optional<Record>> Lookup(std::string_view typed) = 0;
  virtual Result<std::vector<Record>> NamesOf(const PublicKey& owner) = 0;
};

// The embedded backend: one SQLite file (WAL). Several SqliteRegistry objects, in one
// process or several, may share a file; each registration is one BEGIN IMMEDIATE
// transaction. One object is safe to use from several threads.
class SqliteRegistry : public Registry {
 public:
  static Result<std::unique_ptr<SqliteRegistry>> Open(const std::string& path);
  Result<RegisterResult> Register(const Claim& claim) override;
  Result<RegisterResult> Transfer(const Claim& claim) override;
  Result<std::optional<Record>> Lookup(std::string_view typed) override;
  Result<std::vector<Record>> NamesOf(const PublicKey& owner) override;

 private:
  explicit SqliteRegistry(store::Db db) : db_(std::move(db)) {}
  Result<std::optional<Record>> Find(std::string_view column, std::string_view value) REQUIRES(mu_);
  Mutex mu_;
  store::Db db_ GUARDED_BY(mu_);
};

}  // namespace pando::names
