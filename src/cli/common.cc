#include "cli/common.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "core/error_codes.h"

namespace pando::cli {

std::string Context::DataDir() const {
  if (!data_dir_flag.empty()) return data_dir_flag;
  if (const char* h = std::getenv("PANDO_HOME"); h && *h) return h;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/pando";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/pando";
}

std::optional<client::ApiClient> Context::RunningNode() const {
  return Check(client::ApiClient::ForDataDir(DataDir()));
}

Result<std::unique_ptr<store::Store>> Context::OpenStore(bool create) const {
  const std::string dir = DataDir();
  std::error_code exists_ec;
  if (!create && !std::filesystem::exists(store::StorePathIn(dir), exists_ec)) {
    return Error{codes::kNoStore,
                 "No Pando store in " + dir + "; run `pando init` (or pass --data-dir)."};
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{codes::kIo, "Cannot create " + dir + ": " + ec.message() + "."};
  return store::Store::Open(store::StoreOptions{store::StorePathIn(dir)});
}

void Fail(const Error& error) { throw Failure{error}; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTime(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>(ms % 1000));
  return out;
}

Result<Hash32> ParseEntryId(std::string_view text) {
  auto raw = FromHex(text);
  if (!raw || raw->size() != 32) {
    return Error{codes::kBadId, "'" + std::string(text) + "' is not an entry id (64 hex digits)."};
  }
  Hash32 id;
  std::copy(raw->begin(), raw->end(), id.begin());
  return id;
}

Entry ResolveEntry(store::Store& store, std::string_view text) {
  if (text.size() == 64) {
    auto found = Check(store.Get(Check(ParseEntryId(text))));
    if (!found) Fail(Error{codes::kNotFound, "No entry " + std::string(text) + " in this store."});
    return *found;
  }
  auto matches = Check(store.FindByIdPrefix(text));
  if (matches.empty()) {
    Fail(Error{codes::kNotFound, "No entry id starts with " + std::string(text) + "."});
  }
  if (matches.size() > 1) {
    Fail(Error{codes::kBadId,
               "More than one entry id starts with " + std::string(text) + "; give more digits."});
  }
  return matches.front();
}

namespace {
// Decides whether a payload is shown as text. Output uses nlohmann's replace handler, so an
// overlong sequence this lets through still cannot break the JSON.
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 6) {
      n = 1;
    } else if ((c >> 4) == 14) {
      n = 2;
    } else if ((c >> 3) == 30) {
      n = 3;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n + 1;
  }
  return true;
}
}  // namespace

nlohmann::json EntryJson(const Entry& e, bool author_forked) {
  nlohmann::json j;
  j["id"] = ToHex(e.id());
  j["author"] = AuthorId(e.author());
  j["author_forked"] = author_forked;
  j["seq"] = e.seq();
  j["prev"] = ToHex(e.prev());
  j["timestamp_ms"] = e.timestamp_ms();
  j["group"] = std::string(e.group());
  j["kind"] = e.kind();
  std::string_view text = AsString(e.payload());
  if (IsUtf8(text)) {
    j["payload"] = std::string(text);
  } else {
    j["payload_hex"] = ToHex(e.payload());
  }
  j["signature"] = ToHex(e.signature());
  return j;
}

}  // namespace pando::cli
