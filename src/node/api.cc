#include "node/api.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "node/node.h"

namespace pando::node {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Largest request body: one entry with room to spare.
constexpr size_t kBodyMax = 1 << 20;
constexpr auto kRequestTimeout = std::chrono::seconds(30);

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// "a=1&b=x" -> value of key, undecoded (the values used here need no escaping).
std::optional<std::string> QueryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// A whole query value as a number in [lo, hi]; nullopt if it is anything else.
template <typename T>
std::optional<T> NumberIn(const std::string& text, T lo, T hi) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Node* node) : stream_(std::move(socket)), node_(node) {}
  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyMax);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec == http::error::body_limit) {
                         return self->Reply(
                             Error{codes::kOversize, "The request body is over 1 MiB."}, 11, false);
                       }
                       if (ec) return;
                       self->Handle(self->parser_->release());
                     });
  }

  void Reply(const Error& e, unsigned version, bool keep_alive) {
    nlohmann::json body = {{"error", {{"code", e.code}, {"message", e.message}}}};
    Send(HttpStatusOf(e.code), body, version, keep_alive);
  }

  void Send(unsigned status, const nlohmann::json& body, unsigned version, bool keep_alive) {
    auto res = std::make_shared<Response>(static_cast<http::status>(status), version);
    res->set(http::field::server, "pando");
    res->set(http::field::content_type, "application/json");
    res->keep_alive(keep_alive);
    res->body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  void Handle(Request req) {
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const std::string target_text(req.target());
    std::string_view target = target_text;
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query =
        target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
    auto fail = [&](std::string_view code, const std::string& message) {
      Reply(Error{code, message}, version, keep_alive);
    };
    if (node_->stopping()) return fail(codes::kShuttingDown, "The node is stopping.");
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;

    if (path == "/api/v1/status" && get) {
      return Send(200, node_->StatusJson(), version, keep_alive);
    }
    if (path == "/api/v1/entries" && post) {
      // The body is one signed entry: its canonical bytes as hex, or raw bytes.
      Bytes bytes;
      if (std::string(req[http::field::content_type]) == "application/octet-stream") {
        bytes.assign(req.body().begin(), req.body().end());
      } else {
        auto j = nlohmann::json::parse(req.body(), nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("entry") || !j["entry"].is_string()) {
          return fail(codes::kBadArgument,
                      "Send {\"entry\": HEX} (the signed entry's bytes), or the raw bytes "
                      "with Content-Type application/octet-stream.");
        }
        auto b = FromHex(j["entry"].get<std::string>());
        if (!b) return fail(codes::kBadArgument, "\"entry\" is not hex.");
        bytes = std::move(*b);
      }
      auto entry = Entry::Decode(bytes);
      if (!entry.ok()) return Reply(entry.error(), version, keep_alive);
      const std::string id = ToHex(entry->id());
      return node_->PostLocal(std::move(entry).value(), [self = shared_from_this(), id, version,
                                                         keep_alive](pando::Status s) {
        if (!s.ok()) return self->Reply(s.error(), version, keep_alive);
        self->Send(201, {{"id", id}}, version, keep_alive);
      });
    }
    if ((path == "/api/v1/peers/block" || path == "/api/v1/peers/unblock") && post) {
      auto j = nlohmann::json::parse(req.body(), nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("peers") || !j["peers"].is_array()) {
        return fail(codes::kBadArgument,
                    "Send {\"peers\": [AUTHOR_ID, ...], \"seconds\": N} (seconds for block).");
      }
      std::vector<PublicKey> keys;
      for (const auto& p : j["peers"]) {
        auto key = ParseAuthorId(p.is_string() ? p.get<std::string>() : "");
        if (!key.ok()) return Reply(key.error(), version, keep_alive);
        keys.push_back(*key);
      }
      if (path == "/api/v1/peers/unblock") {
        node_->Unblock(keys);
      } else {
        const int64_t seconds = j.value("seconds", int64_t{600});
        if (seconds < 1 || seconds > int64_t{86'400} * 365) {
          return fail(codes::kBadArgument, "seconds must be from 1 to 31536000.");
        }
        node_->Block(keys, std::chrono::seconds(seconds));
      }
      return Send(200, {{"peers", keys.size()}}, version, keep_alive);
    }
    if (path == "/api/v1/wait" && get) {
      auto id = FromHex(QueryValue(query, "id").value_or(""));
      if (!id || id->size() != 32) return fail(codes::kBadId, "Give id=HEX (64 hex digits).");
      int64_t timeout_ms = 10'000;
      if (auto t = QueryValue(query, "timeout_ms"); t && !t->empty()) {
        auto n = NumberIn<int64_t>(*t, 0, 600'000);
        if (!n) return fail(codes::kBadArgument, "timeout_ms must be from 0 to 600000.");
        timeout_ms = *n;
      }
      Hash32 h;
      std::copy(id->begin(), id->end(), h.begin());
      return node_->WaitForEntry(h, std::chrono::milliseconds(timeout_ms),
                                 [self = shared_from_this(), version, keep_alive](bool held) {
                                   self->Send(200, {{"held", held}}, version, keep_alive);
                                 });
    }
    if (path == "/api/v1/head" && get) {
      auto author = ParseAuthorId(QueryValue(query, "author").value_or(""));
      if (!author.ok()) return Reply(author.error(), version, keep_alive);
      const std::string group = QueryValue(query, "group").value_or("");
      auto head = node_->store().Head(*author, group);
      if (!head.ok()) return Reply(head.error(), version, keep_alive);
      if (!head->has_value()) return Send(200, {{"seq", 0}}, version, keep_alive);
      return Send(200,
                  {{"seq", (*head)->seq},
                   {"id", ToHex((*head)->id)},
                   {"timestamp_ms", (*head)->timestamp_ms}},
                  version, keep_alive);
    }
    if (path == "/api/v1/log" && get) {
      store::LogQuery q;
      if (auto g = QueryValue(query, "group"); g && !g->empty()) q.group = *g;
      if (auto a = QueryValue(query, "author"); a && !a->empty()) {
        auto key = ParseAuthorId(*a);
        if (!key.ok()) return Reply(key.error(), version, keep_alive);
        q.author = *key;
      }
      if (auto l = QueryValue(query, "limit"); l && !l->empty()) {
        auto n = NumberIn<size_t>(*l, 0, std::numeric_limits<size_t>::max());
        if (!n) return fail(codes::kBadArgument, "limit must be a number.");
        q.limit = *n;
        q.newest_first = q.limit > 0;
      }
      auto entries = node_->store().Log(q);
      if (!entries.ok()) return Reply(entries.error(), version, keep_alive);
      auto authors = node_->store().Authors();
      if (!authors.ok()) return Reply(authors.error(), version, keep_alive);
      nlohmann::json list = nlohmann::json::array(), forked = nlohmann::json::array();
      for (const Entry& e : *entries) list.push_back(ToHex(e.bytes()));
      for (const auto& a : *authors) {
        if (a.forked) forked.push_back(AuthorId(a.key));
      }
      return Send(200, {{"entries", list}, {"forked_authors", forked}}, version, keep_alive);
    }
    if (path.starts_with("/api/v1/entries/") && get) {
      auto id = FromHex(path.substr(std::string_view("/api/v1/entries/").size()));
      if (!id || id->size() != 32) return fail(codes::kBadId, "Give a 64-hex-digit entry id.");
      Hash32 h;
      std::copy(id->begin(), id->end(), h.begin());
      auto e = node_->store().Get(h);
      if (!e.ok()) return Reply(e.error(), version, keep_alive);
      if (!e->has_value()) return fail(codes::kNotFound, "No stored entry has that id.");
      return Send(200, {{"entry", ToHex((*e)->bytes())}}, version, keep_alive);
    }
    return fail(codes::kNotFound, "No route " + std::string(req.method_string()) + " " +
                                      std::string(path) + " (docs/api.md lists them).");
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Node* node_;
};

}  // namespace

unsigned HttpStatusOf(std::string_view code) {
  if (code == codes::kNotFound) return 404;
  if (code == codes::kOversize) return 413;
  if (code == codes::kShuttingDown) return 503;
  if (code == codes::kStore || code == codes::kInternal || code == codes::kIo) return 500;
  if (code == codes::kDuplicate || code == codes::kSeqGap || code == codes::kWrongPrev ||
      code == codes::kForked || code == codes::kAuthorForked ||
      code == codes::kTimestampRegression || code == codes::kConflict) {
    return 409;
  }
  if (code == codes::kBadSignature || code == codes::kFutureTimestamp ||
      code == codes::kInvalidGroup) {
    return 422;
  }
  return 400;
}

Result<std::unique_ptr<ApiServer>> ApiServer::Open(asio::io_context& io, const Endpoint& endpoint,
                                                   Node* node) {
  std::unique_ptr<ApiServer> api(new ApiServer(io, node));
  try {
    tcp::endpoint ep(asio::ip::make_address(endpoint.host), endpoint.port);
    api->acceptor_.open(ep.protocol());
    api->acceptor_.set_option(tcp::acceptor::reuse_address(true));
    api->acceptor_.bind(ep);
    api->acceptor_.listen();
    api->endpoint_ = {endpoint.host, api->acceptor_.local_endpoint().port()};
  } catch (const std::exception& e) {
    return Error{codes::kUnreachable,
                 "Cannot serve the API on " + endpoint.ToString() + ": " + e.what() + "."};
  }
  return api;
}

ApiServer::~ApiServer() = default;

void ApiServer::Start() { Accept(); }

void ApiServer::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void ApiServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
    if (ec) return;
    std::make_shared<Session>(std::move(s), node_)->Start();
    Accept();
  });
}

}  // namespace pando::node
