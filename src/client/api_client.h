// ApiClient: how CLI verbs reach a running node's local API (docs/api.md), over HttpClient.
// A node writes data_dir/node.json when it starts and removes it when it stops; a verb run
// with that data directory finds the node there and acts through it. Calls are blocking and
// share nothing, so one ApiClient may be used from several threads.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "client/http_client.h"
#include "core/endpoint.h"
#include "core/error.h"

namespace pando::client {

// Where a node running with data_dir says where its API is: data_dir/node.json, a JSON object
// with at least "http" ("host:port") and "pid". The node writes it; ApiClient reads it.
std::string NodeInfoPath(const std::string& data_dir);

class ApiClient {
 public:
  // The node running with data_dir, if any. A node.json left by a process that is gone is
  // ignored. Errors: NODE_UNAVAILABLE (the file names a live process whose API does not
  // answer).
  static Result<std::optional<ApiClient>> ForDataDir(const std::string& data_dir);
  // `timeout` bounds each call: connecting, sending and reading the whole answer.
  explicit ApiClient(Endpoint endpoint,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // GET or POST (with a JSON body) a target such as "/api/v1/status". An answer with an
  // error object becomes that Error. Errors: NODE_UNAVAILABLE, and the node's codes.
  Result<nlohmann::json> Get(const std::string& target) const;
  Result<nlohmann::json> Post(const std::string& target, const nlohmann::json& body) const;
  Result<nlohmann::json> Put(const std::string& target, const nlohmann::json& body) const;
  Result<nlohmann::json> Delete(const std::string& target) const;

  // One exchange whose answer is kept whole, error objects included: the status and the JSON
  // body. `body` (JSON text) is sent for POST and PUT. Errors: NODE_UNAVAILABLE (no answer, or
  // not JSON), BAD_ARGUMENT (a target that cannot be sent, such as one with a space).
  // clang-tidy's exception-escape reports an implicit member function of this plain struct,
  // which only moves or destroys a json value; none of that throws.
  // NOLINTNEXTLINE(bugprone-exception-escape)
  struct Answer {
    unsigned status = 0;
    nlohmann::json body;
  };
  Result<Answer> Exchange(std::string_view method, const std::string& target,
                          const std::string& body = "") const;

  const Endpoint& endpoint() const { return http_.server(); }

 private:
  Result<nlohmann::json> Call(std::string_view method, const std::string& target,
                              const std::string& body) const;
  HttpClient http_;
};

}  // namespace pando::client
