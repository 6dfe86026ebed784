#include "core/error_codes.h"
#include "names/decide.h"
#include "names/registry.h"
#include "store/store.h"

namespace pando::names {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS names (
  name     TEXT PRIMARY KEY,      -- normal form
  skeleton TEXT NOT NULL UNIQUE,  -- at most one name per skeleton (docs/names.md)
  owner    BLOB NOT NULL,         -- Ed25519 key
  claim    BLOB NOT NULL          -- the registration or last transfer, docs/names.md "Claims"
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS names_by_owner ON names (owner);
)sql";

Result<Record> RecordFrom(store::Stmt& s) {
  auto claim = DecodeClaim(s.Blob(1));
  if (!claim.ok()) return Error{codes::kStore, "The name registry holds a damaged claim."};
  Record r;
  r.name = s.Text(0);
  r.owner = claim->owner;
  r.claim = std::move(*claim);
  return r;
}

// Runs sql in a transaction on db; rolls back if f fails.
template <typename F>
auto InTransaction(store::Db& db, F f) -> decltype(f()) {
  PANDO_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto r = f();
  if (!r.ok()) {
    (void)db.Exec("ROLLBACK");
    return r;
  }
  if (Status s = db.Exec("COMMIT"); !s.ok()) {
    (void)db.Exec("ROLLBACK");
    return s.error();
  }
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteRegistry>> SqliteRegistry::Open(const std::string& path) {
  auto db = store::Db::Open(path, true);
  if (!db.ok()) return db.error();
  PANDO_RETURN_IF_ERROR(store::ConfigureConnection(*db));
  PANDO_RETURN_IF_ERROR(db->Exec(kSchema));
  return std::unique_ptr<SqliteRegistry>(new SqliteRegistry(std::move(db).value()));
}

Result<std::optional<Record>> SqliteRegistry::Find(std::string_view column,
                                                   std::string_view value) {
  auto s = db_.Prepare("SELECT name, claim FROM names WHERE " + std::string(column) + "=?");
  if (!s.ok()) return s.error();
  s->Bind(1, value);
  auto row = s->Step();
  if (!row.ok()) return row.error();
  if (!*row) return std::optional<Record>();
  auto r = RecordFrom(*s);
  if (!r.ok()) return r.error();
  return std::optional<Record>(std::move(*r));
}

Result<RegisterResult> SqliteRegistry::Register(const Claim& claim) {
  if (auto refused = RefuseRegistration(claim)) return *refused;
  const std::string skeleton = Skeleton(claim.name);
  MutexLock lock(&mu_);
  return InTransaction(db_, [&]() -> Result<RegisterResult> {
    mu_.AssertHeld();  // The analysis does not follow the lock into the lambda.
    auto holder = Find("skeleton", skeleton);
    if (!holder.ok()) return holder.error();
    if (*holder) return AnswerTaken(claim, std::move(**holder));
    auto ins = db_.Prepare("INSERT INTO names(name, skeleton, owner, claim) VALUES(?,?,?,?)");
    if (!ins.ok()) return ins.error();
    const Bytes bytes = EncodeClaim(claim);
    ins->Bind(1, std::string_view(claim.name))
        .Bind(2, std::string_view(skeleton))
        .Bind(3, ByteSpan(claim.owner))
        .Bind(4, ByteSpan(bytes));
    PANDO_RETURN_IF_ERROR(ins->Run());
    return Answer(Outcome::kRegistered);
  });
}

Result<RegisterResult> SqliteRegistry::Transfer(const Claim& claim) {
  if (auto refused = RefuseTransfer(claim)) return *refused;
  MutexLock lock(&mu_);
  return InTransaction(db_, [&]() -> Result<RegisterResult> {
    mu_.AssertHeld();  // The analysis does not follow the lock into the lambda.
    auto current = Find("name", claim.name);
    if (!current.ok()) return current.error();
    if (auto answer = DecideTransfer(claim, std::move(*current))) return *answer;
    auto upd = db_.Prepare("UPDATE names SET owner=?, claim=? WHERE name=?");
    if (!upd.ok()) return upd.error();
    const Bytes bytes = EncodeClaim(claim);
    upd->Bind(1, ByteSpan(claim.owner))
        .Bind(2, ByteSpan(bytes))
        .Bind(3, std::string_view(claim.name));
    PANDO_RETURN_IF_ERROR(upd->Run());
    return Answer(Outcome::kTransferred);
  });
}

Result<std::optional<Record>> SqliteRegistry::Lookup(std::string_view typed) {
  auto normal = Normalize(typed);
  if (!normal.ok()) return std::optional<Record>();
  MutexLock lock(&mu_);
  return Find("name", *normal);
}

Result<std::vector<Record>> SqliteRegistry::NamesOf(const PublicKey& owner) {
  MutexLock lock(&mu_);
  auto s = db_.Prepare("SELECT name, claim FROM names WHERE owner=? ORDER BY name");
  if (!s.ok()) return s.error();
  s->Bind(1, ByteSpan(owner));
  std::vector<Record> out;
  while (true) {
    auto row = s->Step();
    if (!row.ok()) return row.error();
    if (!*row) break;
    auto r = RecordFrom(*s);
    if (!r.ok()) return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace pando::names
