// The web UI's static files (src/http/static/), compiled into the binary by embed.cmake.
#pragma once

#include <cstddef>
#include <string_view>

namespace pando::http {

struct StaticFile {
  std::string_view path;          // "/static/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view bytes;
};

extern const StaticFile kStaticFiles[];
extern const size_t kStaticFileCount;

}  // namespace pando::http
