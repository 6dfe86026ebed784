// Tests of net/connection.h over real TLS 1.3 sockets on 127.0.0.1: identities proved by the
// handshake, frames both ways, and each way a peer can misbehave at this layer (another key
// than dialled, not TLS, garbage frames, an oversize frame, silence, not reading). Every test
// runs its io_context for a bounded time.
#include "net/connection.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/error_codes.h"

namespace pando::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::shared_ptr<TlsIdentity> Identity(uint8_t n) {
  InitCrypto();
  Seed seed{};
  seed.fill(n);
  Result<std::shared_ptr<TlsIdentity>> id = TlsIdentity::FromKey(KeyPair::FromSeed(seed));
  EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().ToString());
  return *id;
}

// What one side saw.
struct Side {
  std::shared_ptr<Connection> conn;
  std::optional<Error> ready_error;
  std::vector<proto::Frame> frames;
  std::optional<Error> closed;
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest()
      : server_id_(Identity(1)),
        client_id_(Identity(2)),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {}

  // Accepts one connection into server_, handshake included, with `limits`.
  void AcceptOne(const ConnectionLimits& limits, bool start = true) {
    acceptor_.async_accept(
        [this, limits, start](const boost::system::error_code& ec, tcp::socket socket) {
          ASSERT_FALSE(ec) << ec.message();
          Connection::Accept(std::move(socket), server_id_, limits,
                             [this, start](Result<std::shared_ptr<Connection>> r) {
                               Ready(server_, std::move(r), start);
                             });
        });
  }
  void Dial(std::optional<PublicKey> expected, const ConnectionLimits& limits = {},
            bool start = true) {
    Connection::Dial(io_, client_id_, "127.0.0.1", acceptor_.local_endpoint().port(), expected,
                     limits, [this, start](Result<std::shared_ptr<Connection>> r) {
                       Ready(client_, std::move(r), start);
                     });
  }
  void Ready(Side& side, Result<std::shared_ptr<Connection>> r, bool start) {
    if (!r.ok()) {
      side.ready_error = r.error();
      return;
    }
    side.conn = *r;
    if (!start) return;
    side.conn->Start([&side](Connection&, proto::Frame f) { side.frames.push_back(std::move(f)); },
                     [&side](Connection&, const Error& e) { side.closed = e; });
  }
  // Runs the loop until done() or 10 s; returns done().
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  asio::io_context io_;
  std::shared_ptr<TlsIdentity> server_id_, client_id_;
  tcp::acceptor acceptor_;
  Side server_, client_;
};

TEST_F(ConnectionTest, HandshakeProvesBothKeysAndFramesFlowBothWays) {
  AcceptOne({});
  Dial(server_id_->key());
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  EXPECT_EQ(client_.conn->peer_key(), server_id_->key());
  EXPECT_EQ(client_.conn->peer_id(), server_id_->id());
  EXPECT_EQ(server_.conn->peer_key(), client_id_->key());
  EXPECT_EQ(server_.conn->peer_id(), proto::NodeIdOfKey(client_id_->key()));

  ASSERT_TRUE(client_.conn->Send(proto::HelloFrame{1, "127.0.0.1:7000"}));
  ASSERT_TRUE(client_.conn->Send(proto::ReconcileFrame{1, true, Bytes(200'000, 7)}));
  ASSERT_TRUE(server_.conn->Send(proto::PingFrame{}));
  ASSERT_TRUE(RunUntil([&] { return server_.frames.size() == 2 && client_.frames.size() == 1; }));
  EXPECT_EQ(server_.frames[0], proto::Frame(proto::HelloFrame{1, "127.0.0.1:7000"}));
  EXPECT_EQ(std::get<proto::ReconcileFrame>(server_.frames[1]).body.size(), 200'000u);
  EXPECT_EQ(client_.frames[0], proto::Frame(proto::PingFrame{}));

  // A clean close: the peer learns the code.
  client_.conn->Close(Error{codes::kClosed, "Shutting down."});
  ASSERT_TRUE(RunUntil([&] { return server_.closed && client_.closed; }));
  EXPECT_EQ(server_.closed->code, codes::kClosed);
  EXPECT_NE(server_.closed->message.find("Shutting down."), std::string::npos)
      << server_.closed->message;
  EXPECT_FALSE(client_.conn->Send(proto::PingFrame{}));
}

TEST_F(ConnectionTest, PeerProvingAnotherKeyThanDialledIsDropped) {
  AcceptOne({});
  Dial(Identity(3)->key());
  ASSERT_TRUE(RunUntil([&] { return client_.ready_error.has_value(); }));
  EXPECT_EQ(client_.ready_error->code, codes::kPeerMismatch);
  EXPECT_FALSE(client_.conn);
}

TEST_F(ConnectionTest, NonTlsPeerFailsTheHandshake) {
  AcceptOne({});
  tcp::socket raw(io_);
  raw.connect(acceptor_.local_endpoint());
  asio::write(raw, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
  ASSERT_TRUE(RunUntil([&] { return server_.ready_error.has_value(); }));
  EXPECT_EQ(server_.ready_error->code, codes::kTls);
}

TEST_F(ConnectionTest, SilentTcpPeerTimesOutInTheHandshake) {
  ConnectionLimits limits;
  limits.connect_timeout = std::chrono::milliseconds(300);
  AcceptOne(limits);
  tcp::socket raw(io_);
  raw.connect(acceptor_.local_endpoint());
  ASSERT_TRUE(RunUntil([&] { return server_.ready_error.has_value(); }));
  EXPECT_EQ(server_.ready_error->code, codes::kTimeout);
}

// A frame that does not decode, and a length over 1 MiB: the receiver sends GOAWAY with the
// code and closes; the sender learns the code from the GOAWAY.
TEST_F(ConnectionTest, GarbageFrameEndsTheConnectionWithMalformed) {
  AcceptOne({});
  Dial(server_id_->key());
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  client_.conn->SendBytes(*FromHex("0100000063"));  // Unknown frame type.
  ASSERT_TRUE(RunUntil([&] { return server_.closed && client_.closed; }));
  EXPECT_EQ(server_.closed->code, codes::kMalformed);
  EXPECT_TRUE(server_.frames.empty());
  EXPECT_EQ(client_.closed->code, codes::kClosed);
  EXPECT_NE(client_.closed->message.find("MALFORMED"), std::string::npos)
      << client_.closed->message;
}

TEST_F(ConnectionTest, OversizeFrameIsRefusedFromItsLength) {
  AcceptOne({});
  Dial(server_id_->key());
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  Bytes header;
  PutU32(header, static_cast<uint32_t>(proto::kFrameBytesMax + 1));
  client_.conn->SendBytes(header);  // No body follows: the length alone is enough.
  ASSERT_TRUE(RunUntil([&] { return server_.closed.has_value(); }));
  EXPECT_EQ(server_.closed->code, codes::kOversize);
  ASSERT_TRUE(RunUntil([&] { return client_.closed.has_value(); }));
  EXPECT_NE(client_.closed->message.find("OVERSIZE"), std::string::npos);
}

TEST_F(ConnectionTest, SilentPeerTimesOut) {
  ConnectionLimits limits;
  limits.idle_timeout = std::chrono::milliseconds(300);
  AcceptOne(limits);
  Dial(server_id_->key());
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return server_.closed.has_value(); }));
  EXPECT_EQ(server_.closed->code, codes::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
}

// The client never reads: the server's queue for it grows past its limit and the server
// cuts it off instead of holding the frames.
TEST_F(ConnectionTest, PeerThatDoesNotReadIsCutOff) {
  ConnectionLimits limits;
  limits.send_queue_bytes_max = size_t{1} << 20;
  AcceptOne(limits);
  Dial(server_id_->key(), {}, /*start=*/false);
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  bool refused = false;
  const proto::Frame big = proto::ReconcileFrame{1, false, Bytes(64 * 1024, 1)};
  for (int i = 0; i < 2'000 && !refused; ++i) {
    refused = !server_.conn->Send(big);
    io_.poll();  // Let writes drain into the socket buffers while they can.
  }
  EXPECT_TRUE(refused);
  ASSERT_TRUE(RunUntil([&] { return server_.closed.has_value(); }));
  EXPECT_EQ(server_.closed->code, codes::kSlowPeer);
  EXPECT_EQ(server_.conn->queued_bytes(), 0u);
}

TEST_F(ConnectionTest, DrainNoticeComesOnceWhenTheQueueFallsBelowTheMark) {
  AcceptOne({});
  Dial(server_id_->key());
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  const proto::Frame big = proto::ReconcileFrame{1, false, Bytes(256 * 1024, 3)};
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(server_.conn->Send(big));
  ASSERT_GT(server_.conn->queued_bytes(), size_t{1} << 20);
  int notices = 0;
  size_t queued_at_notice = 0;
  server_.conn->NotifyWhenBelow(size_t{1} << 20, [&] {
    ++notices;
    queued_at_notice = server_.conn->queued_bytes();
  });
  ASSERT_TRUE(RunUntil([&] { return client_.frames.size() == 8; }));
  EXPECT_EQ(notices, 1);
  EXPECT_LT(queued_at_notice, size_t{1} << 20);
  // Once called, it is gone: more writes call nothing.
  ASSERT_TRUE(server_.conn->Send(big));
  ASSERT_TRUE(RunUntil([&] { return client_.frames.size() == 9; }));
  EXPECT_EQ(notices, 1);
}

TEST_F(ConnectionTest, SendFirstGoesAheadOfEveryFrameNotYetBeingWritten) {
  AcceptOne({});
  Dial(server_id_->key());
  ASSERT_TRUE(RunUntil([&] { return server_.conn && client_.conn; }));
  const proto::Frame big = proto::ReconcileFrame{1, false, Bytes(256 * 1024, 3)};
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(server_.conn->Send(big));
  ASSERT_TRUE(server_.conn->SendFirst(proto::ForkProofFrame{{1}}));
  ASSERT_TRUE(server_.conn->SendFirst(proto::ForkProofFrame{{2}}));
  ASSERT_TRUE(RunUntil([&] { return client_.frames.size() == 10; }));
  // The first big frame was being written already; both urgent ones follow it, in order.
  EXPECT_TRUE(std::holds_alternative<proto::ReconcileFrame>(client_.frames[0]));
  EXPECT_EQ(client_.frames[1], proto::Frame(proto::ForkProofFrame{{1}}));
  EXPECT_EQ(client_.frames[2], proto::Frame(proto::ForkProofFrame{{2}}));
  for (size_t i = 3; i < 10; ++i) {
    EXPECT_TRUE(std::holds_alternative<proto::ReconcileFrame>(client_.frames[i])) << i;
  }
  EXPECT_EQ(server_.conn->queued_bytes(), 0u);
}

}  // namespace
}  // namespace pando::net
