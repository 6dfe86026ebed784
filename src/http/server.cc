#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>

#include "core/error_codes.h"
#include "http/limits.h"
#include "http/routes.h"

namespace pando::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// After refusing a request, how much more of it is read and dropped, and for how long: so
// that closing does not reset the connection before the client has read the answer.
constexpr size_t kDrainBytesMax = 16 << 20;
constexpr auto kDrainTime = std::chrono::seconds(5);

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

// The shape of an answer after which the connection closes.
Request Closing() {
  Request r;
  r.version(11);
  r.keep_alive(false);
  return r;
}

// Whether a Beast read error means the client sent something that is not HTTP/1.1 we take
// (answered 400), rather than a closed, reset or timed-out connection (closed unanswered).
bool Malformed(const beast::error_code& ec) {
  return ec.category() == beast::error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// Where a session's client is and what it holds of the port's limits (Gate).
struct Client {
  asio::ip::address key;  // Gate::KeyOf its address.
  bool loopback = false;  // It is on this machine.
  bool admitted = false;  // It holds a connection of the Gate (else it is being refused).
};

// One HTTP connection: reads requests one at a time and answers each in order. Owned by
// the async operations and pending answers that hold its shared_ptr; ctx, the hubs and the
// gate outlive it (the gate by its own shared_ptr, since the node's event loop may destroy
// a pending session after the server).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Context* ctx, StreamHub* hub, StreamHub* kv_hub,
          std::shared_ptr<Gate> gate, Client client)
      : stream_(std::move(socket)),
        ctx_(ctx),
        hub_(hub),
        kv_hub_(kv_hub),
        gate_(std::move(gate)),
        limits_(gate_->limits()),
        client_(std::move(client)),
        began_(std::chrono::steady_clock::now()) {}
  ~Session() {
    ReleaseBody();
    if (client_.admitted) {
      gate_->CloseConnection(client_.key);
    } else {
      gate_->EndRefusal();
    }
  }
  void Start() { Read(); }

  // Answers err and closes, whatever the client sends.
  void Refuse(const Error& err, std::optional<std::chrono::milliseconds> retry_after = {}) {
    route_ = "api";
    drain_ = true;
    Send(ErrorResponse(err, Closing()), retry_after);
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(limits_.header_bytes_max));
    parser_->body_limit(limits_.body_bytes_max);
    // The header phase has its own, shorter deadline: a client that trickles its header
    // (slowloris) holds the connection no longer than that.
    stream_.expires_after(std::chrono::milliseconds(limits_.header_timeout_ms));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    began_ = std::chrono::steady_clock::now();
    if (ec) return OnReadError(ec);
    const Request& req = parser_->get();
    if (req.target().size() > limits_.target_bytes_max) return Refuse(TargetTooLong());
    if (req.count(bhttp::field::content_length) > 1) {
      return Refuse(Error{codes::kBadRequest, "The request has two Content-Length headers."});
    }
    // The body is not read until the memory it may take is reserved: at once, from what
    // the header announces (a chunked body may grow to the limit).
    const size_t announced = parser_->content_length()
                                 ? static_cast<size_t>(*parser_->content_length())
                                 : (parser_->chunked() ? limits_.body_bytes_max : 0);
    if (!gate_->ReserveBody(client_.key, announced)) {
      return Refuse(Error{codes::kBusy,
                          "The node holds as many request bodies as it takes from your address "
                          "(or from all); send it again once your other requests are answered."});
    }
    reserved_ = announced;
    stream_.expires_after(std::chrono::milliseconds(limits_.request_timeout_ms));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return Refuse(Error{codes::kOversize, "The request body is over 1 MiB."});
    }
    if (ec == bhttp::error::header_limit) {
      // The request line alone may be what passed the limit: then the target is too long.
      const std::string_view head(static_cast<const char*>(buffer_.data().data()),
                                  buffer_.data().size());
      // The parser consumes each complete line, so the buffer starts with the request line
      // only if that line is what is still unfinished.
      const size_t eol = head.find("\r\n");
      const size_t space = head.find(' ');
      const bool request_line =
          space != std::string_view::npos && space > 0 && space < 16 &&
          std::all_of(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(space),
                      [](char c) { return c >= 'A' && c <= 'Z'; }) &&
          head.substr(space + 1).starts_with("/");
      if (request_line && (eol == std::string_view::npos || eol > limits_.target_bytes_max)) {
        return Refuse(TargetTooLong());
      }
      return Refuse(Error{codes::kHeadersTooLarge,
                          "The request's header block is over " +
                              std::to_string(limits_.header_bytes_max >> 10) + " KiB."});
    }
    if (Malformed(ec)) {
      return Refuse(
          Error{codes::kBadRequest, "The request is not HTTP/1.1 the node takes: " + ec.message() +
                                        " (" + std::to_string(ec.value()) + ")."});
    }
    // Closed, reset or timed out (a slow header, say): nothing to answer.
  }

  Error TargetTooLong() const {
    return Error{codes::kUriTooLong, "The request target is over " +
                                         std::to_string(limits_.target_bytes_max >> 10) + " KiB."};
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    Request req = parser_->release();
    const bool write = req.method() != bhttp::verb::get && req.method() != bhttp::verb::head;
    if (write && req.target().starts_with("/api/")) {
      auto wait =
          gate_->ChargeWrite(client_.key, req.body().size(), std::chrono::steady_clock::now());
      if (wait) {
        route_ = "api";
        return Send(ErrorResponse(Error{codes::kRateLimited,
                                        "Your address writes faster than the node takes (" +
                                            std::to_string(limits_.write_burst_bytes / (1 << 20)) +
                                            " MiB at once, then " + RateText() +
                                            "); try again after Retry-After."},
                                  AnswerShape(req)),
                    wait);
      }
    }
    ++requests_;
    answered_ = false;
    Dispatch(std::move(req));
    if (!answered_) WatchClose();
  }

  std::string RateText() const {
    return std::to_string(static_cast<int64_t>(limits_.write_bytes_per_second / 1024)) +
           " KiB and " + std::to_string(static_cast<int64_t>(limits_.write_requests_per_second)) +
           " requests a second";
  }

  void Dispatch(Request req) {
    const std::string target(req.target());
    const size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    route_ = RouteClass(path);
    const Call call{req, path, query, client_.loopback, websocket::is_upgrade(req)};
    Stream stream = Stream::kNone;
    try {
      stream = http::Dispatch(
          *ctx_, call, [self = shared_from_this()](Response res) { self->Send(std::move(res)); });
    } catch (const std::exception& e) {
      // One request's surprise closes its connection, never the node.
      spdlog::error("HTTP {} {}: {}", std::string(req.method_string()), path, e.what());
      Request r = Closing();
      r.version(req.version());
      return Send(ErrorResponse(Error{codes::kInternal, "The request failed inside the node."}, r));
    }
    if (stream == Stream::kEntries) return Upgrade(hub_, std::move(req), query);
    if (stream == Stream::kChanges) return Upgrade(kv_hub_, std::move(req), query);
  }

  void Upgrade(StreamHub* hub, Request req, const std::string& query) {
    answered_ = true;
    ReleaseBody();
    ctx_->metrics->Record("stream", 101, std::chrono::steady_clock::now() - began_);
    stream_.expires_never();
    hub->Accept(stream_.release_socket(), std::move(req), QueryValue(query, "group").value_or(""));
  }

  // While a handler has not answered yet (GET /api/v1/wait may take minutes), notices the
  // client hanging up and closes the socket at once, so it does not linger in CLOSE_WAIT
  // holding a descriptor; the answer, when it comes, goes nowhere. The session still counts
  // as a connection of its address until then, so abandoned waits cannot pile up.
  void WatchClose() {
    stream_.socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this(), n = requests_](beast::error_code ec) {
          if (ec || self->answered_ || self->requests_ != n) return;
          char c;
          const ssize_t got =
              ::recv(self->stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
          if (got > 0) return;  // A pipelined request: the client is still there.
          if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return self->WatchClose();
          beast::error_code ignored;
          self->stream_.socket().close(ignored);
        });
  }

  void ReleaseBody() {
    gate_->ReleaseBody(client_.key, reserved_);
    reserved_ = 0;
  }

  void Send(Response res, std::optional<std::chrono::milliseconds> retry_after = {}) {
    answered_ = true;
    if (retry_after) {
      res.set(bhttp::field::retry_after, std::to_string((retry_after->count() + 999) / 1000));
    }
    ctx_->metrics->Record(route_, res.result_int(), std::chrono::steady_clock::now() - began_);
    auto shared = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::milliseconds(limits_.request_timeout_ms));
    bhttp::async_write(stream_, *shared,
                       [self = shared_from_this(), shared](beast::error_code ec, size_t) {
                         self->ReleaseBody();
                         if (ec || !shared->keep_alive()) {
                           beast::error_code ignored;
                           self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                           if (!ec && self->drain_) self->Drain(0);
                           return;
                         }
                         self->Read();
                       });
  }

  // Reads and drops up to kDrainBytesMax bytes, for at most kDrainTime, then closes.
  void Drain(size_t so_far) {
    if (so_far == 0) stream_.expires_after(kDrainTime);
    drain_buffer_.resize(64 * 1024);
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this(), so_far](beast::error_code ec, size_t n) {
                              if (ec || so_far + n > kDrainBytesMax) return;
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
  std::shared_ptr<Gate> gate_;
  const Limits& limits_;  // gate_'s.
  const Client client_;
  size_t reserved_ = 0;    // Body bytes reserved in gate_ for the request being served.
  uint64_t requests_ = 0;  // Requests read so far: tells WatchClose's wake-ups apart.
  bool answered_ = true;   // The last request read has been answered.
  std::string_view route_ = "page";
  std::chrono::steady_clock::time_point began_;
};

}  // namespace

unsigned HttpStatusOf(std::string_view code) {
  if (code == codes::kNotFound) return 404;
  if (code == codes::kOversize) return 413;
  if (code == codes::kMethodNotAllowed) return 405;
  if (code == codes::kForbidden || code == codes::kCrossSite) return 403;
  if (code == codes::kRateLimited || code == codes::kQuotaExceeded) return 429;
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

Result<nlohmann::json> BoundedJson(std::string_view text, std::string_view shape) {
  const std::string send = "; send " + std::string(shape) + ".";
  if (text.size() > kJsonBytesMax) return Error{codes::kBadJson, "The JSON is over 1 MiB" + send};
  // The parser itself keeps its nesting on the heap; only the values it builds are walked
  // recursively later. A callback that refuses to keep anything deeper than the bound, and
  // notes that it did, makes the one parse both the check and the build.
  bool too_deep = false;
  const nlohmann::json::parser_callback_t bound =
      [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        using E = nlohmann::json::parse_event_t;
        if (depth >= kJsonDepthMax && (event == E::object_start || event == E::array_start)) {
          too_deep = true;
        }
        return !too_deep;
      };
  nlohmann::json j = nlohmann::json::parse(text, bound, false);
  if (too_deep) {
    return Error{codes::kBadJson, "The JSON nests arrays and objects deeper than " +
                                      std::to_string(kJsonDepthMax) + send};
  }
  if (j.is_discarded()) return Error{codes::kBadJson, "The body is not JSON" + send};
  return j;
}

namespace {

std::string Lower(beast::string_view s) {
  std::string out(s.data(), s.size());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether a Host header (lower case) names this node: a loopback name with its port (or
// none: no browser sends that to another port), or its own bound address. A page of another
// site that rebinds its name to 127.0.0.1 still sends that name, and is refused.
bool OwnHost(const Context& ctx, const std::string& host) {
  const std::string port = ":" + std::to_string(ctx.port);
  for (std::string_view name : {"127.0.0.1", "localhost", "[::1]"}) {
    if (host == name || host == std::string(name) + port) return true;
  }
  return host == Lower(ctx.host);
}

// A Content-Type's media type, without parameters, in lower case.
std::string MediaType(beast::string_view content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  return t;
}

}  // namespace

Status OperatorCall(const Context& ctx, const Call& call, std::string_view forbidden) {
  if (!call.loopback) return Error{codes::kForbidden, std::string(forbidden)};
  const Request& req = call.req;
  const std::string host = Lower(req[bhttp::field::host]);
  if (!OwnHost(ctx, host)) {
    return Error{codes::kCrossSite,
                 "The Host header '" + host +
                     "' is not this node's own address (127.0.0.1, localhost or [::1] with "
                     "its port, or " +
                     ctx.host + "): operator routes answer only to it."};
  }
  if (auto origin = req.find(bhttp::field::origin); origin != req.end()) {
    if (Lower(origin->value()) != "http://" + host) {
      return Error{codes::kCrossSite, "A page of " + std::string(origin->value()) +
                                          " may not use this node's operator routes."};
    }
  }
  if (auto site = req.find("Sec-Fetch-Site"); site != req.end()) {
    const std::string s = Lower(site->value());
    if (s != "same-origin" && s != "none") {
      return Error{codes::kCrossSite,
                   "The browser says this request comes from another site (Sec-Fetch-Site: " + s +
                       "); operator routes answer only the node's own pages."};
    }
  }
  const bool body = !req.body().empty() || req.method() == bhttp::verb::post ||
                    req.method() == bhttp::verb::put || req.method() == bhttp::verb::patch;
  if (body && MediaType(req[bhttp::field::content_type]) != "application/json") {
    // A cross-site form or a no-cors fetch can send text/plain but not application/json.
    return Error{codes::kCrossSite, "Send the body with Content-Type: application/json."};
  }
  return Status::Ok();
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
      accept_timer_(io),
      node_(node),
      backend_(*node),
      ctx_{&backend_, &metrics_, "", 0, [this] { return hub_.sockets() + kv_hub_.sockets(); }, {}},
      gate_(std::make_shared<Gate>(Limits{})),
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
  server->ctx_.host = server->endpoint_.ToString();
  server->ctx_.port = server->endpoint_.port;
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
  accept_timer_.cancel();
  hub_.CloseAll();
  kv_hub_.CloseAll();
}

void Server::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Descriptors exhausted (EMFILE), say: the connection waits in the kernel's backlog.
      // Try again shortly rather than never; say so once per run of failures.
      if (!accept_failing_) spdlog::warn("HTTP accept failed, retrying: {}", ec.message());
      accept_failing_ = true;
      accept_timer_.expires_after(std::chrono::milliseconds(gate_->limits().accept_retry_ms));
      accept_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e) Accept();
      });
      return;
    }
    if (accept_failing_) spdlog::info("HTTP accepts again");
    accept_failing_ = false;
    Admit(std::move(s));
    Accept();
  });
}

void Server::Admit(tcp::socket s) {
  beast::error_code ec;
  const auto remote = s.remote_endpoint(ec);
  if (ec) return;  // Gone already.
  const auto key = Gate::KeyOf(remote.address());
  const Client client{key, remote.address().is_loopback(), gate_->OpenConnection(key)};
  if (client.admitted) {
    return std::make_shared<Session>(std::move(s), &ctx_, &hub_, &kv_hub_, gate_, client)->Start();
  }
  // Refused: answered 503 while few are, else closed at once (s's destructor) at no cost.
  if (!gate_->BeginRefusal()) return;
  std::make_shared<Session>(std::move(s), &ctx_, &hub_, &kv_hub_, gate_, client)
      ->Refuse(Error{codes::kBusy,
                     "The node has as many connections as it takes from your address (" +
                         std::to_string(gate_->limits().connections_per_address_max) +
                         ") or from all (" + std::to_string(gate_->limits().connections_max) +
                         "); close one or try again later."});
}

}  // namespace pando::http
