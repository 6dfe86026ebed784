// ApiClient: how CLI verbs reach a running node's local API. A node writes data_dir/node.json
// when it starts and removes it when it stops; a verb run with that data directory finds
// the node there and acts through it.
#pragma once

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
  explicit ApiClient(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}

  // GET or POST (with a JSON body) a target such as "/api/v1/status". An answer with an
  // error object becomes that Error. Errors: NODE_UNAVAILABLE, and the node's codes.
  Result<nlohmann::json> Get(const std::string& target) const;
  Result<nlohmann::json> Post(const std::string& target, const nlohmann::json& body) const;
  Result<nlohmann::json> Put(const std::string& target, const nlohmann::json& body) const;
  Result<nlohmann::json> Delete(const std::string& target) const;

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Result<nlohmann::json> Call(std::string_view method, const std::string& target,
                              const std::string& body) const;
  Endpoint endpoint_;
};

}  // namespace pando::node
