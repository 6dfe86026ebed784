// StreamHub: the WebSocket streams of new entries (GET /api/v1/stream?group=G, docs/web.md).
// The node tells the hub of every committed entry; the hub sends one JSON text message to
// each socket that follows the entry's group. Everything runs on the node's event loop.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/entry.h"
#include "http/http.h"

namespace pando::http {

class StreamSession;

class StreamHub {
 public:
  // What a follower of the entry's group is sent; nothing when it returns "".
  using Render = std::function<std::string(const Entry&)>;
  explicit StreamHub(Render render);
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;
  // Sockets still open (their handlers pending in the io_context) forget the hub.
  ~StreamHub();

  // Messages queued for one socket before it counts as too slow and is closed.
  static constexpr size_t kQueuedMax = 1000;
  // Sockets per node; more are refused with 503.
  static constexpr size_t kSocketsMax = 10'000;

  // Takes over a socket whose request asks to upgrade; answers errors as HTTP.
  void Accept(boost::asio::ip::tcp::socket socket, Request req, const std::string& group);
  // Sends `e` to the followers of its group.
  void Publish(const Entry& e);
  void CloseAll();
  size_t sockets() const;

 private:
  friend class StreamSession;
  void Remove(StreamSession* s);

  Render render_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<StreamSession>>> by_group_;
  size_t count_ = 0;
};

// The stream message for an entry (docs/web.md, "WebSocket stream").
std::string StreamMessage(const Entry& e);
// The key-value change feed's message for an entry (docs/api.md, "Change feed"): for a
// CRDT operation, the object it changed and the merged values after it; "" otherwise.
std::string ChangeMessage(Context& ctx, const Entry& e);

}  // namespace pando::http
