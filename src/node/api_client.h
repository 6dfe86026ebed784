// ApiClient: how CLI verbs reach a running node's local API. A node writes data_dir/node.json
// when it starts and removes it when it stops; a verb run with that data directory finds
// the node there and acts through it.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"
#include "node/config.h"

namespace pando::node {

class ApiClient {
 public:
  // The node running with data_dir, if any. A node.json left by a process that is gone is
  // ignored. Errors: NODE_UNAVAILABLE (the file names a live process whose API does not
  // answer).
  static Result<std::optional<ApiClient>> ForDataDir(const std::string& data_dir);
  explicit ApiClient(Endpoint endpoint,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : endpoint_(std::move(endpoint)), timeout_(timeout) {}

  // GET or POST (with a JSON body) a target such as "/api/v1/status". An answer with an
  // error object becomes that Error. Errors: NODE_UNAVAILABLE, and the node's codes.
  Result<nlohmann::json> Get(const std::string& target) const;
  Result<nlohmann::json> Post(const std::string& target, const nlohmann::json& body) const;
  Result<nlohmann::json> Put(const std::string& target, const nlohmann::json& body) const;
  Result<nlohmann::json> Delete(const std::string& target) const;

  // One exchange whose answer is kept whole, error objects included: the status and the JSON
  // body. `body` (JSON text) is sent for POST and PUT. Errors: NODE_UNAVAILABLE (no answer, or not
  // JSON).
  struct Answer {
    unsigned status = 0;
    nlohmann::json body;
  };
  Result<Answer> Exchange(std::string_view method, const std::string& target,
                          const std::string& body = "") const;

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Result<nlohmann::json> Call(std::string_view method, const std::string& target,
                              const std::string& body) const;
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
};

}  // namespace pando::node
