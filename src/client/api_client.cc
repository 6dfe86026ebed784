#include "client/api_client.h"

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "core/error_codes.h"

namespace pando::client {
namespace {

// The largest answer read: a node's answers are small JSON documents.
constexpr uint64_t kAnswerBytesMax = uint64_t{16} << 20;

}  // namespace

std::string NodeInfoPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "node.json").string();
}

namespace {

HttpOptions ApiOptions(std::chrono::milliseconds timeout) {
  HttpOptions o;
  o.timeout = timeout;
  o.body_bytes_max = kAnswerBytesMax;
  return o;
}

}  // namespace

ApiClient::ApiClient(Endpoint endpoint, std::chrono::milliseconds timeout)
    : http_(std::move(endpoint), ApiOptions(timeout)) {}

Result<std::optional<ApiClient>> ApiClient::ForDataDir(const std::string& data_dir) {
  std::ifstream f(NodeInfoPath(data_dir));
  if (!f) return std::optional<ApiClient>();
  auto info = nlohmann::json::parse(f, nullptr, false);
  if (info.is_discarded() || !info.contains("http") || !info["http"].is_string() ||
      !info.contains("pid") || !info["pid"].is_number_integer()) {
    return std::optional<ApiClient>();
  }
  const int pid = info["pid"].get<int>();
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return std::optional<ApiClient>();
  auto endpoint = ParseEndpoint(info["http"].get<std::string>());
  if (!endpoint.ok()) return std::optional<ApiClient>();
  ApiClient client(*endpoint);
  auto status = client.Get("/api/v1/status");
  if (!status.ok() && status.error().code == codes::kNodeUnavailable) return status.error();
  return std::optional<ApiClient>(client);
}

Result<nlohmann::json> ApiClient::Get(const std::string& target) const {
  return Call("GET", target, "");
}

Result<nlohmann::json> ApiClient::Post(const std::string& target,
                                       const nlohmann::json& body) const {
  return Call("POST", target, body.dump());
}

Result<nlohmann::json> ApiClient::Put(const std::string& target, const nlohmann::json& body) const {
  return Call("PUT", target, body.dump());
}

Result<nlohmann::json> ApiClient::Delete(const std::string& target) const {
  return Call("DELETE", target, "");
}

Result<ApiClient::Answer> ApiClient::Exchange(std::string_view method, const std::string& target,
                                              const std::string& body) const {
  HttpRequest req;
  req.method = std::string(method);
  req.target = target;
  if (method == "POST" || method == "PUT") {
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = body;
  }
  auto res = http_.Send(req);
  if (!res.ok()) {
    // Every way of not getting an answer is one code to the CLI: the node is not there.
    if (res.code() == codes::kBadArgument) return res.error();
    return Error{codes::kNodeUnavailable, "The node's API at " + endpoint().ToString() +
                                              " does not answer: " + res.error().message};
  }
  Answer a;
  a.status = res->status;
  a.body = nlohmann::json::parse(res->body, nullptr, false);
  if (a.body.is_discarded()) {
    return Error{codes::kNodeUnavailable,
                 "The node at " + endpoint().ToString() + " did not answer with JSON."};
  }
  return a;
}

Result<nlohmann::json> ApiClient::Call(std::string_view method, const std::string& target,
                                       const std::string& body) const {
  auto a = Exchange(method, target, body);
  if (!a.ok()) return a.error();
  const nlohmann::json& j = a->body;
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    return Error{codes::Intern(j["error"].value("code", "")),
                 j["error"].value("message", "The node refused the request.")};
  }
  return std::move(a->body);
}

}  // namespace pando::client
