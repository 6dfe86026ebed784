#include "http/stream.h"

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <nlohmann/json.hpp>

#include "core/error_codes.h"
#include "core/kinds.h"
#include "crdt/op.h"
#include "http/backend.h"
#include "model/data.h"

namespace pando::http {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// One follower's socket. Owned by its own pending operations (shared_from_this); the hub
// holds weak pointers.
class StreamSession : public std::enable_shared_from_this<StreamSession> {
 public:
  StreamSession(tcp::socket socket, StreamHub* hub) : ws_(std::move(socket)), hub_(hub) {}
  ~StreamSession() {
    if (hub_ != nullptr) hub_->Remove(this);
  }

  void Start(const Request& req) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "pando"); }));
    ws_.read_message_max(4096);  // Followers only listen; anything they send is dropped.
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->open_ = true;
      self->ReadLoop();
      self->WriteNext();
    });
  }

  void Push(std::shared_ptr<const std::string> message) {
    if (closing_) return;
    if (queue_.size() >= StreamHub::kQueuedMax) {
      // Too slow: close with "policy violation" rather than hold the node's memory.
      closing_ = true;
      queue_.clear();
      ws_.async_close(
          websocket::close_reason(websocket::close_code::policy_error, "reading too slowly"),
          [self = shared_from_this()](beast::error_code) {});
      return;
    }
    queue_.push_back(std::move(message));
    if (queue_.size() == 1) WriteNext();
  }

  void Close() {
    if (closing_ || !open_) return;
    closing_ = true;
    ws_.async_close(websocket::close_code::going_away,
                    [self = shared_from_this()](beast::error_code) {});
  }

  void Detach() { hub_ = nullptr; }

 private:
  void ReadLoop() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;  // Closed or failed: the last pointer goes, the hub forgets it.
      self->in_.consume(self->in_.size());
      self->ReadLoop();
    });
  }

  void WriteNext() {
    if (!open_ || closing_ || queue_.empty() || writing_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(*queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return;
                      if (!self->queue_.empty()) self->queue_.pop_front();
                      self->WriteNext();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  StreamHub* hub_;
  beast::flat_buffer in_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool open_ = false, writing_ = false, closing_ = false;
};

std::string StreamMessage(const Entry& e) {
  nlohmann::json j = EntryJson(e);
  j["type"] = "entry";
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ChangeMessage(Context& ctx, const Entry& e) {
  if (e.kind() != kinds::kCrdt) return "";
  auto op = crdt::DecodeOp(e.payload());
  if (!op.ok() || !crdt::CheckClock(e, *op).ok()) return "";
  const crdt::ObjectKey key = crdt::ObjectOf(e, *op);
  store::Store& store = ctx.backend->store();
  nlohmann::json j = {{"type", "change"},
                      {"object", model::ObjectKeyJson(key)},
                      {"entry", ToHex(e.id())},
                      {"author", AuthorId(e.author())},
                      {"hlc", op->hlc}};
  if (const auto* u = std::get_if<crdt::MapUpdate>(&op->action)) {
    // The merged value of each field the op wrote: its own, or a later write that won.
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& f : u->fields) {
      auto cell = store.CrdtMapField(key, f.field);
      nlohmann::json v = nullptr, raw = nullptr;
      if (cell.ok() && *cell && (*cell)->value) {
        // Signed by the writer, perhaps elsewhere: bounded like a body (http.h).
        auto bounded = BoundedJson(*(*cell)->value, "a value within the bounds");
        if (bounded.ok()) v = std::move(bounded).value();
        raw = *(*cell)->value;
      }
      changes.push_back({{"key", f.field}, {"value", v}, {"raw", raw}});
    }
    j["changes"] = std::move(changes);
  } else {
    auto o = store.LoadCrdt(key);
    if (!o.ok() || !*o) return "";
    j["state"] = model::StateJson(**o);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void StreamHub::Accept(tcp::socket socket, Request req, const std::string& group) {
  auto refuse = [&](unsigned status, std::string_view code, std::string message) {
    auto res = std::make_shared<Response>(ErrorResponse(Error{code, std::move(message)}, req));
    res->result(status);
    res->keep_alive(false);
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    beast::http::async_write(*stream, *res, [stream, res](beast::error_code, size_t) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  };
  if (!IsValidGroupName(group)) {
    return refuse(400, codes::kInvalidGroup, "Give ?group=NAME, a valid group name.");
  }
  if (count_ >= kSocketsMax) {
    return refuse(503, codes::kShuttingDown, "This node follows too many streams now.");
  }
  auto s = std::make_shared<StreamSession>(std::move(socket), this);
  auto& list = by_group_[group];
  std::erase_if(list, [](const auto& w) { return w.expired(); });
  list.push_back(s);
  ++count_;
  s->Start(req);
}

StreamHub::StreamHub(Render render) : render_(std::move(render)) {}

void StreamHub::Publish(const Entry& e) {
  auto it = by_group_.find(std::string(e.group()));
  if (it == by_group_.end() || it->second.empty()) return;
  std::string text = render_(e);
  if (text.empty()) return;
  auto message = std::make_shared<const std::string>(std::move(text));
  for (const auto& w : it->second) {
    if (auto s = w.lock()) s->Push(message);
  }
}

StreamHub::~StreamHub() {
  for (auto& [group, list] : by_group_) {
    for (const auto& w : list) {
      if (auto s = w.lock()) s->Detach();
    }
  }
}

void StreamHub::CloseAll() {
  for (auto& [group, list] : by_group_) {
    for (const auto& w : list) {
      if (auto s = w.lock()) s->Close();
    }
  }
}

size_t StreamHub::sockets() const { return count_; }

void StreamHub::Remove(StreamSession* s) {
  (void)s;
  --count_;
}

}  // namespace pando::http
