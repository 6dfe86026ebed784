// /static/...: the embedded files, with an ETag so browsers revalidate cheaply.
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "http/handlers.h"
#include "http/http.h"
#include "http/static_files.h"

namespace pando::http {

namespace {

Response StaticFileOf(const Call& call) {
  for (size_t i = 0; i < kStaticFileCount; ++i) {
    const StaticFile& f = kStaticFiles[i];
    if (f.path != call.path) continue;
    // Tags are computed once: the bytes never change while the binary runs.
    static const std::vector<std::string> tags = [] {
      std::vector<std::string> t;
      for (size_t k = 0; k < kStaticFileCount; ++k) {
        t.push_back("\"" + ToHex(Blake2b256(AsBytes(kStaticFiles[k].bytes))).substr(0, 16) + "\"");
      }
      return t;
    }();
    const std::string& tag = tags[i];
    if (call.req[bhttp::field::if_none_match] == tag) {
      Response res = MakeResponse(304, "", f.content_type, call.req);
      res.set(bhttp::field::etag, tag);
      return res;
    }
    Response res = MakeResponse(200, std::string(f.bytes), f.content_type, call.req);
    res.set(bhttp::field::etag, tag);
    res.set(bhttp::field::cache_control, "no-cache");
    return res;
  }
  return ErrorResponse(Error{codes::kNotFound, "No static file " + std::string(call.path) + "."},
                       call.req);
}

}  // namespace

void StaticGet(Context&, const Call& call, const Params&, Respond& respond) {
  respond(StaticFileOf(call));
}

}  // namespace pando::http
