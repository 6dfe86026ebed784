#include "core/post.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"
#include "core/kinds.h"

namespace pando {
namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 if none starts there.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t lo = 0x80, hi = 0xbf;  // Range of the first continuation byte.
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;  // No overlongs.
    if (c == 0xed) hi = 0x9f;  // No surrogates.
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;  // At most U+10FFFF.
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

// s cut to at most max bytes, on a character boundary (s is well-formed UTF-8).
std::string CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t end = max;
  while (end > 0 && (static_cast<uint8_t>(s[end]) & 0xc0) == 0x80) --end;
  return std::string(s.substr(0, end));
}

}  // namespace

bool IsUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = Utf8SequenceAt(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string PostTitle(std::string_view markdown) {
  while (!markdown.empty()) {
    const size_t nl = markdown.find('\n');
    const std::string_view line = markdown.substr(0, nl);
    if (!IsUtf8(line)) return "";
    // Control characters (C0, DEL, C1) become spaces: a title is shown as one line of text.
    std::string clean;
    for (size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<uint8_t>(line[i]);
      if (c < 0x20 || c == 0x7f) {
        clean += ' ';
      } else if (c == 0xc2 && i + 1 < line.size() && static_cast<uint8_t>(line[i + 1]) < 0xa0) {
        clean += ' ';  // U+0080..U+009F.
        ++i;
      } else {
        clean += static_cast<char>(c);
      }
    }
    // Heading marks and blanks go from the front, blanks from the end, and again after the
    // cut, so that the title of a title is itself (catalog records relay titles).
    const size_t first = clean.find_first_not_of(" #");
    if (first != std::string::npos) {
      std::string title = CutUtf8(std::string_view(clean).substr(first), kTitleBytesMax);
      while (!title.empty() && title.back() == ' ') title.pop_back();
      return title;
    }
    if (nl == std::string_view::npos) break;
    markdown.remove_prefix(nl + 1);
  }
  return "";
}

Result<CatalogRecord> DecodeCatalogRecord(ByteSpan payload) {
  const std::string_view text = AsString(payload);
  if (!IsUtf8(text)) return Error{codes::kMalformed, "A catalog record must be UTF-8 JSON."};
  // No exceptions: a payload comes from the network (allow_exceptions = false).
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error{codes::kMalformed, "A catalog record must be a JSON object."};
  }
  auto str = [&](const char* key) -> const std::string* {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string* title = str("title");
  const std::string* group = str("group");
  const std::string* entry = str("entry");
  if (title == nullptr || group == nullptr || entry == nullptr) {
    return Error{codes::kMalformed,
                 "A catalog record needs the strings \"title\", \"group\" and \"entry\"."};
  }
  if (!IsValidGroupName(*group)) {
    return Error{codes::kInvalidGroup, "A catalog record names an invalid group."};
  }
  auto id = entry->size() == 64 ? FromHex(*entry) : std::nullopt;
  if (!id) return Error{codes::kBadId, "A catalog record's entry must be 64 hex digits."};
  CatalogRecord r;
  r.title = PostTitle(*title);
  r.group = *group;
  std::copy(id->begin(), id->end(), r.entry.begin());
  return r;
}

Bytes EncodeCatalogRecord(const CatalogRecord& record) {
  nlohmann::json j = {
      {"title", record.title}, {"group", record.group}, {"entry", ToHex(record.entry)}};
  const std::string s = j.dump();
  return Bytes(s.begin(), s.end());
}

PostReading ReadPost(const Entry& e) {
  PostReading r;
  const std::string_view text = AsString(e.payload());
  if (e.kind() == kinds::kPost && IsUtf8(text)) {
    r.post = true;
    r.title = PostTitle(text);
    r.text = text;
  } else if (e.kind() == kinds::kCatalog) {
    if (auto record = DecodeCatalogRecord(e.payload()); record.ok()) {
      r.title = record->title;
      r.record = std::move(record).value();
    }
  }
  return r;
}

std::string Slug(std::string_view title) {
  std::string out;
  bool dash = false;
  for (unsigned char c : title) {
    if (std::isalnum(c) && c < 0x80) {
      if (dash && !out.empty()) out += '-';
      dash = false;
      if (out.size() >= kSlugBytesMax) break;
      out += static_cast<char>(std::tolower(c));
    } else {
      dash = true;
    }
  }
  if (out.size() > kSlugBytesMax) out.resize(kSlugBytesMax);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "post" : out;
}

}  // namespace pando
