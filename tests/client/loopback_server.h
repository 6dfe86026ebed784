// LoopbackServer: a scripted HTTP server on 127.0.0.1 for the client's tests. It accepts one
// connection at a time on its own thread and hands each to the test's handler, which reads
// and writes raw bytes as the case needs (a plain answer, a chunked one, one cut off, none).
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/endpoint.h"

namespace pando::testing {

class LoopbackServer {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Handler = std::function<void(Socket&)>;

  explicit LoopbackServer(Handler handler)
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        handler_(std::move(handler)),
        thread_([this] { Serve(); }) {}
  ~LoopbackServer() {
    stop_ = true;
    Socket wake(io_);  // Unblocks accept().
    boost::system::error_code ignored;
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  Endpoint endpoint() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }

  // Reads one request from s; nullopt if the client sent none (or closed).
  static std::optional<Request> Read(Socket& s) {
    boost::beast::flat_buffer buffer;
    Request req;
    boost::system::error_code ec;
    boost::beast::http::read(s, buffer, req, ec);
    if (ec) return std::nullopt;
    return req;
  }
  // Writes raw bytes to s, ignoring a client that has gone.
  static void Write(Socket& s, std::string_view bytes) {
    boost::system::error_code ec;
    boost::asio::write(s, boost::asio::buffer(bytes.data(), bytes.size()), ec);
  }
  // Waits until the client closes its end (or 10 s pass).
  static void WaitForClose(Socket& s) {
    std::string sink(64 * 1024, '\0');
    boost::system::error_code ec;
    ::timeval tv{10, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!ec) s.read_some(boost::asio::buffer(sink), ec);
  }

 private:
  void Serve() {
    while (!stop_) {
      Socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      handler_(s);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pando::testing
