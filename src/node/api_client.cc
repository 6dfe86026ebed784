#include "node/api_client.h"

#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>

#include "core/error_codes.h"
#include "node/node.h"

namespace pando::node {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// The largest answer read: a node's answers are small JSON documents.
constexpr uint64_t kAnswerBytesMax = uint64_t{16} << 20;

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
  const bool with_body = method == "POST" || method == "PUT";
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout_);
    stream.connect(resolver.resolve(endpoint_.host, std::to_string(endpoint_.port)));
    http::request<http::string_body> req(http::string_to_verb({method.data(), method.size()}),
                                         target, 11);
    req.set(http::field::host, endpoint_.ToString());
    if (with_body) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kAnswerBytesMax);
    http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    Answer a;
    a.status = parser.get().result_int();
    a.body = nlohmann::json::parse(parser.get().body(), nullptr, false);
    if (a.body.is_discarded()) {
      return Error{codes::kNodeUnavailable,
                   "The node at " + endpoint_.ToString() + " did not answer with JSON."};
    }
    return a;
  } catch (const std::exception& e) {
    return Error{codes::kNodeUnavailable, "The node's API at " + endpoint_.ToString() +
                                              " does not answer: " + e.what() + "."};
  }
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

}  // namespace pando::node
