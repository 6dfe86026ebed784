#include "net/connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "core/error_codes.h"

namespace pando::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

std::string EndpointText(const tcp::endpoint& ep) {
  const std::string addr = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + addr + "]" : addr) + ":" + std::to_string(ep.port());
}

bool PeerWentAway(const error_code& ec) {
  return ec == asio::error::eof || ec == ssl::error::stream_truncated ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

// GOAWAY's reason is at most 65,535 bytes; ours are sentences, but cut to be safe.
std::string Cut(const std::string& s) { return s.size() > 1000 ? s.substr(0, 1000) : s; }

}  // namespace

Connection::Connection(asio::io_context& io, Stream stream, const ConnectionLimits& limits,
                       proto::NodeId local_id)
    : stream_(std::move(stream)), limits_(limits), timer_(io), local_id_(local_id) {}

void Connection::Dial(asio::io_context& io, const std::shared_ptr<TlsIdentity>& identity,
                      const std::string& host, uint16_t port, std::optional<PublicKey> expected,
                      const ConnectionLimits& limits, const ReadyHandler& ready) {
  auto conn = std::make_shared<Connection>(io, Stream(tcp::socket(io), identity->client()), limits,
                                           identity->id());
  auto resolver = std::make_shared<tcp::resolver>(io);
  conn->remote_ = host + ":" + std::to_string(port);
  // One deadline for resolving, connecting and the handshake.
  conn->ArmConnectDeadline([resolver] { resolver->cancel(); });
  resolver->async_resolve(
      host, std::to_string(port),
      [conn, resolver, expected, ready](const error_code& ec,
                                        const tcp::resolver::results_type& results) {
        if (ec) {
          conn->timer_.cancel();
          return ready(Error{conn->deadline_passed_ ? codes::kTimeout : codes::kUnreachable,
                             "Cannot resolve " + conn->remote_ + ": " + ec.message() + "."});
        }
        auto connected = [conn, expected, ready](const error_code& ec, const tcp::endpoint& ep) {
          if (ec) {
            conn->timer_.cancel();
            return ready(Error{conn->deadline_passed_ ? codes::kTimeout : codes::kUnreachable,
                               "Cannot connect to " + conn->remote_ + ": " + ec.message() + "."});
          }
          conn->remote_ = EndpointText(ep);
          conn->Handshake(ssl::stream_base::client, expected, ready);
        };
        if (conn->limits_.bind_address.empty()) {
          return asio::async_connect(conn->stream_.lowest_layer(), results, connected);
        }
        // From a chosen local address: one socket, bound first, to the first endpoint.
        error_code bind_ec;
        const tcp::endpoint target = *results.begin();
        auto& socket = conn->stream_.lowest_layer();
        const auto local = asio::ip::make_address(conn->limits_.bind_address, bind_ec);
        if (!bind_ec) socket.open(target.protocol(), bind_ec);
        if (!bind_ec) socket.bind(tcp::endpoint(local, 0), bind_ec);
        if (bind_ec) return connected(bind_ec, target);
        socket.async_connect(target,
                             [connected, target](const error_code& e) { connected(e, target); });
      });
}

void Connection::Accept(tcp::socket socket, const std::shared_ptr<TlsIdentity>& identity,
                        const ConnectionLimits& limits, const ReadyHandler& ready) {
  error_code ec;
  const tcp::endpoint ep = socket.remote_endpoint(ec);
  auto& io = static_cast<asio::io_context&>(socket.get_executor().context());
  auto conn = std::make_shared<Connection>(io, Stream(std::move(socket), identity->server()),
                                           limits, identity->id());
  conn->remote_ = ec ? "unknown" : EndpointText(ep);
  conn->ArmConnectDeadline({});
  conn->Handshake(ssl::stream_base::server, std::nullopt, ready);
}

void Connection::ArmConnectDeadline(std::function<void()> also) {
  timer_.expires_after(limits_.connect_timeout);
  auto self = shared_from_this();
  timer_.async_wait([self, also = std::move(also)](const error_code& ec) {
    if (ec) return;
    self->deadline_passed_ = true;
    if (also) also();
    error_code ignored;
    self->stream_.lowest_layer().close(ignored);
  });
}

void Connection::Handshake(ssl::stream_base::handshake_type type, std::optional<PublicKey> expected,
                           ReadyHandler ready) {
  auto self = shared_from_this();
  stream_.async_handshake(type, [self, expected, ready](const error_code& ec) {
    self->timer_.cancel();
    auto fail = [&](Error error) {
      error_code ignored;
      self->stream_.lowest_layer().close(ignored);
      self->finished_ = true;
      ready(std::move(error));
    };
    if (ec) {
      return fail(
          Error{self->deadline_passed_ ? codes::kTimeout : codes::kTls,
                "The TLS handshake with " + self->remote_ + " failed: " + ec.message() + "."});
    }
    Result<PublicKey> key = PeerKey(self->stream_.native_handle());
    if (!key.ok()) return fail(key.error());
    if (expected && *key != *expected) {
      return fail(Error{codes::kPeerMismatch, self->remote_ + " proved the key of " +
                                                  AuthorId(*key) + ", not of " +
                                                  AuthorId(*expected) + " as dialled."});
    }
    self->peer_key_ = *key;
    self->peer_id_ = proto::NodeIdOfKey(*key);
    self->reader_.emplace(self->peer_id_, self->local_id_);
    ready(self);
  });
}

void Connection::Start(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  last_read_ = std::chrono::steady_clock::now();
  ArmIdleTimer();
  ReadMore();
}

void Connection::ReadMore() {
  auto self = shared_from_this();
  stream_.async_read_some(asio::buffer(read_buffer_), [self](const error_code& ec, size_t n) {
    if (self->finished_) return;
    if (ec) {
      std::string why = "The connection with " + self->remote_ + " ended";
      if (self->peer_goaway_) {
        why += ": the peer said " + self->peer_goaway_->code + ": " + self->peer_goaway_->reason;
      } else if (!PeerWentAway(ec)) {
        why += ": " + ec.message();
      }
      return self->Finish(Error{codes::kClosed, why + "."});
    }
    self->OnRead(n);
  });
}

void Connection::OnRead(size_t n) {
  last_read_ = std::chrono::steady_clock::now();
  reader_->Append(ByteSpan(read_buffer_.data(), n));
  for (;;) {
    Result<std::optional<proto::Frame>> next = reader_->Next();
    if (!next.ok()) return Close(next.error());
    if (!next->has_value()) break;
    if (const auto* goaway = std::get_if<proto::GoAwayFrame>(&**next)) {
      peer_goaway_ = *goaway;  // So that the close reason says what the peer objected to.
    }
    on_frame_(*this, std::move(**next));
    if (closing_) return;
  }
  ReadMore();
}

void Connection::ArmIdleTimer() {
  timer_.expires_at(last_read_ + limits_.idle_timeout);
  auto self = shared_from_this();
  timer_.async_wait([self](const error_code& ec) {
    if (ec || self->closing_) return;
    if (std::chrono::steady_clock::now() >= self->last_read_ + self->limits_.idle_timeout) {
      return self->Close(
          Error{codes::kTimeout, self->remote_ + " sent nothing for " +
                                     std::to_string(self->limits_.idle_timeout.count()) + " ms."});
    }
    self->ArmIdleTimer();
  });
}

bool Connection::Send(const proto::Frame& frame) {
  if (closing_) return false;
  return Queue(proto::EncodeFrame(frame));
}

bool Connection::SendFirst(const proto::Frame& frame) {
  if (closing_) return false;
  return Queue(proto::EncodeFrame(frame), /*first=*/true);
}

bool Connection::SendBytes(Bytes bytes) {
  if (closing_) return false;
  return Queue(std::move(bytes));
}

bool Connection::Queue(Bytes bytes, bool first) {
  queued_bytes_ += bytes.size();
  if (first) {
    const size_t at = (writing_ ? 1 : 0) + first_++;
    queue_.insert(queue_.begin() + static_cast<std::ptrdiff_t>(at), std::move(bytes));
  } else {
    queue_.push_back(std::move(bytes));
  }
  if (queued_bytes_ > limits_.send_queue_bytes_max) {
    Finish(Error{codes::kSlowPeer, remote_ + " reads too slowly: " + std::to_string(queued_bytes_) +
                                       " bytes are queued for it, over the limit of " +
                                       std::to_string(limits_.send_queue_bytes_max) + "."});
    return false;
  }
  WriteNext();
  return true;
}

void Connection::WriteNext() {
  if (writing_ || queue_.empty() || finished_) return;
  writing_ = true;
  if (first_ > 0) --first_;  // The front is the first of them.
  auto self = shared_from_this();
  asio::async_write(stream_, asio::buffer(queue_.front()), [self](const error_code& ec, size_t) {
    self->writing_ = false;
    if (self->finished_) return;
    if (ec) {
      return self->Finish(
          Error{codes::kClosed, "Writing to " + self->remote_ + " failed: " + ec.message() + "."});
    }
    self->queued_bytes_ -= self->queue_.front().size();
    self->queue_.pop_front();
    if (self->closing_ && self->queue_.empty()) return self->Finish(*self->close_reason_);
    if (self->on_drain_ && self->queued_bytes_ < self->drain_below_) {
      std::function<void()> fn = std::move(self->on_drain_);
      self->on_drain_ = nullptr;
      fn();  // May queue more; the write below then carries on with it.
    }
    self->WriteNext();
  });
}

void Connection::NotifyWhenBelow(size_t below, std::function<void()> fn) {
  drain_below_ = below;
  on_drain_ = std::move(fn);
}

void Connection::Close(const Error& why) {
  if (closing_ || finished_) return;
  closing_ = true;
  close_reason_ = why;
  // Frames not yet being written are dropped: GOAWAY goes next, then the socket closes.
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    queued_bytes_ -= queue_.back().size();
    queue_.pop_back();
  }
  first_ = 0;
  Bytes goaway = proto::EncodeFrame(proto::GoAwayFrame{std::string(why.code), Cut(why.message)});
  queued_bytes_ += goaway.size();
  queue_.push_back(std::move(goaway));
  // A peer that does not read gets one second for it.
  timer_.expires_after(std::chrono::seconds(1));
  auto self = shared_from_this();
  timer_.async_wait([self](const error_code& ec) {
    if (!ec) self->Finish(*self->close_reason_);
  });
  WriteNext();
}

void Connection::Finish(const Error& why) {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  timer_.cancel();
  error_code ignored;
  stream_.lowest_layer().close(ignored);
  queue_.clear();
  first_ = 0;
  queued_bytes_ = 0;
  on_frame_ = nullptr;
  on_drain_ = nullptr;
  if (on_close_) {
    CloseHandler handler = std::move(on_close_);
    on_close_ = nullptr;
    handler(*this, why);
  }
}

}  // namespace pando::net
