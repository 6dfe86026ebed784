// ApiServer: the node's local HTTP API (Boost.Beast), JSON in and out, on the node's event
// loop. The CLI verbs use it while a node runs (api_client.h); docs/api.md lists the routes.
// Errors answer {"error": {"code": CODE, "message": sentence}} with a 4xx or 5xx status.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "core/error.h"
#include "node/config.h"

namespace pando::node {

class Node;

class ApiServer {
 public:
  // Binds the port. Errors: UNREACHABLE.
  static Result<std::unique_ptr<ApiServer>> Open(boost::asio::io_context& io,
                                                 const Endpoint& endpoint, Node* node);
  ~ApiServer();
  void Start();
  void Stop();
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  ApiServer(boost::asio::io_context& io, Node* node) : io_(io), acceptor_(io), node_(node) {}
  void Accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Node* node_;
  Endpoint endpoint_;
};

// The HTTP status for an error code.
unsigned HttpStatusOf(std::string_view code);

}  // namespace pando::node
