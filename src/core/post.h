// Posts and catalog records: how the web UI and search read the payloads of kind 1 (post)
// and kind 2 (catalog) entries (docs/web.md, "Authoring in the browser"). Validation of
// entries never depends on these; a payload that does not parse is still a valid entry,
// it is only left out of the catalog and of search.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/entry.h"
#include "core/error.h"

namespace pando {

// Longest title kept, in bytes; longer ones are cut on a UTF-8 character boundary.
inline constexpr size_t kTitleBytesMax = 200;

// Whether bytes are well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsUtf8(std::string_view bytes);

// The title of a Markdown post: its first line that has more than blanks and '#', with
// control characters (C0, DEL, C1) as spaces, leading '#' and spaces and trailing spaces
// removed, cut to kTitleBytesMax bytes on a character boundary (and trailing spaces removed
// again). PostTitle(PostTitle(x)) == PostTitle(x). Empty for an empty text or a first such
// line that is not UTF-8. app.js's postTitle is the same function.
std::string PostTitle(std::string_view markdown);

// A catalog record: the network-wide index entry of one post, a JSON object
// {"title": TITLE, "group": GROUP, "entry": POST_ID_HEX}.
struct CatalogRecord {
  std::string title;  // At most kTitleBytesMax bytes (cut if longer).
  std::string group;  // A valid group name.
  Hash32 entry{};     // The post's id.
};

// Parses a catalog record payload. Errors: MALFORMED (not UTF-8 JSON of that shape, or a
// field of the wrong type), INVALID_GROUP, BAD_ID (entry is not 64 hex digits).
Result<CatalogRecord> DecodeCatalogRecord(ByteSpan payload);

// The payload of a catalog record, as the browser's script writes it.
Bytes EncodeCatalogRecord(const CatalogRecord& record);

// How the web layer reads an entry (the API, the pages, the store's post index): a post
// (kind 1 with a UTF-8 payload) has a title and its text; a catalog record (kind 2 that
// decodes) has a title and its record; any other entry has neither (`post` false, no
// record). `text` views the entry's payload: the entry must outlive it.
struct PostReading {
  bool post = false;
  std::string title;
  std::string_view text;
  std::optional<CatalogRecord> record;
};
PostReading ReadPost(const Entry& e);

// A post's slug: its title in lower case, ASCII letters and digits kept, every other run of
// characters one '-', at most kSlugBytesMax bytes, no '-' at either end; "post" when nothing
// is left. Here rather than in the data model because the store indexes posts by it.
inline constexpr size_t kSlugBytesMax = 60;
std::string Slug(std::string_view title);

}  // namespace pando
