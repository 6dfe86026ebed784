// Server: the node's one HTTP port (Boost.Beast), on the node's event loop. It reads requests
// and hands each to the route table (routes.h), which serves the JSON API (docs/api.md), the
// WebSocket streams of new entries and of CRDT changes (stream.h), Prometheus metrics
// (metrics.h), the web UI's pages (pages.cc) and its static files (docs/web.md); handlers
// reach the node through a NodeBackend (node_backend.h). It keeps the port's limits (http/limits.h,
// docs/node.md): per client address connections, request bodies in flight and write rates, header
// and request deadlines, and sizes of targets, headers and bodies.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "core/error.h"
#include "http/http.h"
#include "http/limits.h"
#include "http/metrics.h"
#include "http/node_backend.h"
#include "http/stream.h"
#include "node/node.h"

namespace pando::http {

class Server : public node::HttpService {
 public:
  // Binds the port; an node::HttpFactory. Errors: UNREACHABLE.
  static Result<std::unique_ptr<node::HttpService>> Open(boost::asio::io_context& io,
                                                         const node::Endpoint& endpoint,
                                                         node::Node* node);
  ~Server() override;
  void Start() override;
  void Stop() override;
  const node::Endpoint& endpoint() const override { return endpoint_; }

 private:
  Server(boost::asio::io_context& io, node::Node* node);
  void Accept();
  // Starts a session for a new connection, or refuses it when its address or the port is at
  // its connection limit (Limits).
  void Admit(boost::asio::ip::tcp::socket s);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_timer_;  // The pause after a failed accept.
  bool accept_failing_ = false;             // The last accept failed (logged once).
  node::Node* node_;
  node::Endpoint endpoint_;
  NodeBackend backend_;  // Over *node_.
  Metrics metrics_;
  Context ctx_;
  // Connections, bodies in flight and write rates by client address; shared with every
  // session, which may outlive the server on the node's loop.
  std::shared_ptr<Gate> gate_;
  StreamHub hub_;     // GET /api/v1/stream: new entries.
  StreamHub kv_hub_;  // GET /api/v1/kv/stream: CRDT changes.
};

}  // namespace pando::http
