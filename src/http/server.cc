#include "http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "core/error_codes.h"

namespace pando::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Largest request body: one entry with room to spare.
constexpr size_t kBodyMax = 1 << 20;
// After refusing an oversize body: how much more is read and dropped, and for how long.
constexpr size_t kDrainMax = 16 << 20;
constexpr auto kDrainTime = std::chrono::seconds(5);
constexpr auto kRequestTimeout = std::chrono::seconds(30);

// Every answer carries these: no page may be framed, sniffed or run inline script.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

std::string_view RouteClass(std::string_view path) {
  if (path.starts_with("/api/")) return "api";
  if (path.starts_with("/static/")) return "static";
  if (path == "/metrics") return "metrics";
  return "page";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Context* ctx, StreamHub* hub, StreamHub* kv_hub)
      : stream_(std::move(socket)), ctx_(ctx), hub_(hub), kv_hub_(kv_hub) {
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    loopback_ = !ec && remote.address().is_loopback();
  }
  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyMax);
    stream_.expires_after(kRequestTimeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    began_ = std::chrono::steady_clock::now();
    if (ec == bhttp::error::body_limit) {
      Request req;
      req.version(11);
      req.keep_alive(false);
      route_ = "api";
      drain_ = true;
      return Send(ErrorResponse(Error{codes::kOversize, "The request body is over 1 MiB."}, req));
    }
    if (ec) return;
    Request req = parser_->release();
    const std::string target(req.target());
    const size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    route_ = RouteClass(path);
    if (path == "/api/v1/stream" && websocket::is_upgrade(req)) {
      ctx_->metrics->Record("stream", 101, std::chrono::steady_clock::now() - began_);
      stream_.expires_never();
      return hub_->Accept(stream_.release_socket(), std::move(req),
                          QueryValue(query, "group").value_or(""));
    }
    if (path == "/api/v1/kv/stream" && websocket::is_upgrade(req)) {
      ctx_->metrics->Record("stream", 101, std::chrono::steady_clock::now() - began_);
      stream_.expires_never();
      return kv_hub_->Accept(stream_.release_socket(), std::move(req),
                             QueryValue(query, "group").value_or(""));
    }
    const Call call{req, path, query, loopback_};
    try {
      if (route_ == "api") {
        return HandleApi(*ctx_, call,
                         [self = shared_from_this()](Response res) { self->Send(std::move(res)); });
      }
      if (route_ == "static") return Send(HandleStatic(call));
      if (route_ == "metrics") {
        return Send(MakeResponse(
            200,
            ctx_->metrics->Render(ctx_->node->StatusJson(), hub_->sockets() + kv_hub_->sockets()),
            "text/plain; version=0.0.4; charset=utf-8", req));
      }
      Send(HandlePage(*ctx_, call));
    } catch (const std::exception& e) {
      // One request's surprise closes its connection, never the node.
      spdlog::error("HTTP {} {}: {}", std::string(req.method_string()), path, e.what());
      Request r;
      r.version(req.version());
      r.keep_alive(false);
      Send(ErrorResponse(Error{codes::kInternal, "The request failed inside the node."}, r));
    }
  }

  void Send(Response res) {
    ctx_->metrics->Record(route_, res.result_int(), std::chrono::steady_clock::now() - began_);
    auto shared = std::make_shared<Response>(std::move(res));
    bhttp::async_write(stream_, *shared,
                       [self = shared_from_this(), shared](beast::error_code ec, size_t) {
                         if (ec || !shared->keep_alive()) {
                           beast::error_code ignored;
                           self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                           // After an oversize body, read and drop what the client still
                           // sends, so closing does not reset the connection before the
                           // client has read the answer.
                           if (!ec && self->drain_) self->Drain(0);
                           return;
                         }
                         self->Read();
                       });
  }

  // Reads and drops up to kDrainMax bytes, for at most kDrainTime, then closes.
  void Drain(size_t so_far) {
    if (so_far == 0) stream_.expires_after(kDrainTime);
    drain_buffer_.resize(64 * 1024);
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this(), so_far](beast::error_code ec, size_t n) {
                              if (ec || so_far + n > kDrainMax) return;
                              self->Drain(so_far + n);
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool drain_ = false;
  std::vector<char> drain_buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Context* ctx_;
  StreamHub* hub_;
  StreamHub* kv_hub_;
  bool loopback_ = false;
  std::string_view route_ = "page";
  std::chrono::steady_clock::time_point began_;
};

}  // namespace

unsigned HttpStatusOf(std::string_view code) {
  if (code == codes::kNotFound) return 404;
  if (code == codes::kOversize) return 413;
  if (code == codes::kMethodNotAllowed) return 405;
  if (code == codes::kForbidden || code == codes::kCrossSite) return 403;
  if (code == codes::kRateLimited) return 429;
  if (code == codes::kBusy) return 503;
  if (code == codes::kUriTooLong) return 414;
  if (code == codes::kHeadersTooLarge) return 431;
  if (code == codes::kShuttingDown || code == codes::kRegistryUnavailable) return 503;
  if (code == codes::kNoRegistry) return 501;
  if (code == codes::kStore || code == codes::kInternal || code == codes::kIo) return 500;
  if (code == codes::kDuplicate || code == codes::kSeqGap || code == codes::kWrongPrev ||
      code == codes::kForked || code == codes::kAuthorForked ||
      code == codes::kTimestampRegression || code == codes::kConflict ||
      code == codes::kNameTaken || code == codes::kStaleClaim) {
    return 409;
  }
  if (code == codes::kBadSignature || code == codes::kFutureTimestamp ||
      code == codes::kInvalidGroup) {
    return 422;
  }
  return 400;
}

Response MakeResponse(unsigned status, std::string body, std::string_view content_type,
                      const Request& req) {
  Response res(static_cast<bhttp::status>(status), req.version());
  res.set(bhttp::field::server, "pando");
  res.set(bhttp::field::content_type,
          boost::beast::string_view(content_type.data(), content_type.size()));
  res.set("Content-Security-Policy",
          boost::beast::string_view(kContentSecurityPolicy.data(), kContentSecurityPolicy.size()));
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  if (req.method() == bhttp::verb::head) res.body().clear();
  return res;
}

Request AnswerShape(const Request& req) {
  Request r;
  r.version(req.version());
  r.keep_alive(req.keep_alive());
  return r;
}

Response JsonResponse(unsigned status, const nlohmann::json& body, const Request& req) {
  return MakeResponse(status,
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                      "application/json", req);
}

Response ErrorResponse(const Error& e, const Request& req) {
  return JsonResponse(HttpStatusOf(e.code), {{"error", {{"code", e.code}, {"message", e.message}}}},
                      req);
}

std::optional<std::string> QueryValue(std::string_view query, std::string_view key) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
      std::string out;
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '+') {
          out += ' ';
        } else if (raw[i] == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 &&
                   hex(raw[i + 2]) >= 0) {
          out += static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
          i += 2;
        } else {
          out += raw[i];
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Server::Server(asio::io_context& io, node::Node* node)
    : acceptor_(io),
      node_(node),
      ctx_{node, &metrics_},
      hub_(StreamMessage),
      kv_hub_([this](const Entry& e) { return ChangeMessage(ctx_, e); }) {}

Result<std::unique_ptr<node::HttpService>> Server::Open(asio::io_context& io,
                                                        const node::Endpoint& endpoint,
                                                        node::Node* node) {
  std::unique_ptr<Server> server(new Server(io, node));
  try {
    tcp::endpoint ep(asio::ip::make_address(endpoint.host), endpoint.port);
    server->acceptor_.open(ep.protocol());
    server->acceptor_.set_option(tcp::acceptor::reuse_address(true));
    server->acceptor_.bind(ep);
    server->acceptor_.listen();
    server->endpoint_ = {endpoint.host, server->acceptor_.local_endpoint().port()};
  } catch (const std::exception& e) {
    return Error{codes::kUnreachable,
                 "Cannot serve HTTP on " + endpoint.ToString() + ": " + e.what() + "."};
  }
  StreamHub* hub = &server->hub_;
  StreamHub* kv_hub = &server->kv_hub_;
  node->SetStoredListener([hub, kv_hub](const Entry& e) {
    hub->Publish(e);
    kv_hub->Publish(e);
  });
  return std::unique_ptr<node::HttpService>(std::move(server));
}

Server::~Server() { node_->SetStoredListener(nullptr); }

void Server::Start() { Accept(); }

void Server::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  hub_.CloseAll();
  kv_hub_.CloseAll();
}

void Server::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
    if (ec) return;
    std::make_shared<Session>(std::move(s), &ctx_, &hub_, &kv_hub_)->Start();
    Accept();
  });
}

}  // namespace pando::http
