// Connection: one peer link of a node, TLS 1.3 over TCP (Boost.Asio), carrying the frames of
// docs/frame-format.md. It enforces what keeps a node healthy whatever the peer does:
//
// - identity: the peer's id is the key it proved in the handshake; a dialled peer that proves
//   another key than the one dialled for is dropped (PEER_MISMATCH);
// - frame size: a length over 1 MiB ends the connection before its body is read (OVERSIZE),
//   and a frame that does not decode ends it too (MALFORMED);
// - time: a handshake must finish, and some frame must arrive, within limits (TIMEOUT);
// - memory: frames queued for a peer that reads too slowly are bounded (SLOW_PEER).
//
// A connection that ends for the node's own reasons first sends GOAWAY with the code, then
// closes. All handlers run on the thread running the io_context; a Connection is used from
// that thread only.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/error.h"
#include "net/tls.h"
#include "proto/frame.h"

namespace pando::net {

struct ConnectionLimits {
  // Bytes of frames queued for the peer, not yet written to the socket.
  size_t send_queue_bytes_max = size_t{8} << 20;
  std::chrono::milliseconds connect_timeout{10'000};  // TCP connect and TLS handshake.
  std::chrono::milliseconds idle_timeout{60'000};     // Longest silence from the peer.
  // Dial from this local IP address (empty: the system's choice). Tests dial from another
  // loopback address (127.0.0.2) to act as a second machine.
  std::string bind_address;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  using ReadyHandler = std::function<void(Result<std::shared_ptr<Connection>>)>;
  using FrameHandler = std::function<void(Connection&, proto::Frame)>;
  using CloseHandler = std::function<void(Connection&, const Error&)>;

  // Connects to host:port and runs the client handshake. With `expected`, the peer must
  // prove that key. `ready` is called once, on the io_context's thread. Errors:
  // UNREACHABLE, TLS_ERROR, TIMEOUT, PEER_MISMATCH.
  static void Dial(boost::asio::io_context& io, const std::shared_ptr<TlsIdentity>& identity,
                   const std::string& host, uint16_t port, std::optional<PublicKey> expected,
                   const ConnectionLimits& limits, const ReadyHandler& ready);
  // Runs the server handshake on an accepted socket. Errors: TLS_ERROR, TIMEOUT.
  static void Accept(boost::asio::ip::tcp::socket socket,
                     const std::shared_ptr<TlsIdentity>& identity, const ConnectionLimits& limits,
                     const ReadyHandler& ready);

  // Starts reading. on_frame gets each frame in order; on_close is called once, with why the
  // connection ended (after it, nothing more is delivered).
  void Start(FrameHandler on_frame, CloseHandler on_close);
  // Queues a frame. Returns false, and sends nothing, once the connection is closing; if the
  // queue passes its limit the connection closes with SLOW_PEER and this returns false.
  bool Send(const proto::Frame& frame);
  // Queues a frame ahead of every frame not yet being written (after earlier SendFirst
  // frames): for what must not wait behind megabytes of entries, a fork proof. Otherwise
  // like Send.
  bool SendFirst(const proto::Frame& frame);
  // Calls `fn` once, on the io_context's thread, when a finished write leaves less than
  // `below` bytes queued: how a sender paces a large answer without polling. A second call
  // replaces the first; nothing is called once the connection has finished.
  void NotifyWhenBelow(size_t below, std::function<void()> fn);
  // Queues raw bytes, framed or not: for tests that play a misbehaving peer.
  bool SendBytes(Bytes bytes);
  // Sends GOAWAY with why's code and reason, then closes; on_close gets why.
  void Close(const Error& why);

  const PublicKey& peer_key() const { return peer_key_; }
  proto::NodeId peer_id() const { return peer_id_; }
  const std::string& remote() const { return remote_; }
  size_t queued_bytes() const { return queued_bytes_; }
  bool closing() const { return closing_; }

  // Use Dial or Accept; public for std::make_shared.
  Connection(boost::asio::io_context& io, Stream stream, const ConnectionLimits& limits,
             proto::NodeId local_id);

 private:
  // When limits_.connect_timeout passes, marks the deadline passed, runs `also` (if set) and
  // closes the socket, which fails whatever connect or handshake step is under way.
  void ArmConnectDeadline(std::function<void()> also);
  void Handshake(boost::asio::ssl::stream_base::handshake_type type,
                 std::optional<PublicKey> expected, ReadyHandler ready);
  void ReadMore();
  void OnRead(size_t n);
  void ArmIdleTimer();
  void WriteNext();
  bool Queue(Bytes bytes, bool first = false);
  // Ends the connection now, without GOAWAY (the socket is unusable, or the peer left).
  void Abort(const Error& why);
  void Finish(const Error& why);

  Stream stream_;
  ConnectionLimits limits_;
  boost::asio::steady_timer timer_;  // Handshake deadline, then the idle deadline.
  std::chrono::steady_clock::time_point last_read_;
  proto::NodeId local_id_;
  bool deadline_passed_ = false;  // The connect or handshake deadline fired.
  PublicKey peer_key_{};
  proto::NodeId peer_id_ = proto::kNoNode;
  std::string remote_;
  std::optional<proto::FrameReader> reader_;
  std::array<uint8_t, 64 * 1024> read_buffer_{};
  std::deque<Bytes> queue_;
  size_t queued_bytes_ = 0;
  // Frames queued by SendFirst and not yet being written: they lead queue_ (after the frame
  // being written, if any).
  size_t first_ = 0;
  bool writing_ = false;
  bool closing_ = false;  // No more sends; GOAWAY may still be on its way.
  bool finished_ = false;
  std::optional<Error> close_reason_;
  size_t drain_below_ = 0;
  std::function<void()> on_drain_;  // See NotifyWhenBelow.
  std::optional<proto::GoAwayFrame> peer_goaway_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
};

}  // namespace pando::net
