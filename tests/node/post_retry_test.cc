// `pando post` through a running node when the node's answer is lost: the entry is stored
// once, by the same run or by the command run again, and never signed a second time. A
// LossyProxy stands between the CLI and a real node process (node.json points the CLI at
// it) and loses answers on purpose. Every wait is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>

#include "node/harness.h"

namespace pando::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

// Forwards HTTP requests on 127.0.0.1 to a node's HTTP port, one connection at a time (the
// CLI opens one per request), and loses some: the requests whose method and target start
// with `prefix`, at most `count` of them, either after the node answered (the client's
// connection is closed instead of the answer) or before (the node never sees them).
class LossyProxy {
 public:
  enum class How { kAnswer, kRequest };

  explicit LossyProxy(uint16_t node_port)
      : node_port_(node_port), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~LossyProxy() {
    stop_ = true;
    // Wakes the blocking accept with a connection of our own.
    beast::error_code ec;
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port()}, ec);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Loses the next `count` requests whose method and target start with `prefix`.
  void Lose(std::string prefix, int count, How how) {
    std::lock_guard lock(mu_);
    rules_.push_back({std::move(prefix), count, how});
  }
  void LoseNothing() {
    std::lock_guard lock(mu_);
    rules_.clear();
  }
  int lost() const { return lost_; }

 private:
  struct Rule {
    std::string prefix;
    int count = 0;
    How how = How::kAnswer;
  };
  // Whether to lose this request, and how; counts it.
  std::optional<How> Decide(const std::string& line) {
    std::lock_guard lock(mu_);
    for (Rule& r : rules_) {
      if (r.count <= 0 || !line.starts_with(r.prefix)) continue;
      --r.count;
      ++lost_;
      return r.how;
    }
    return std::nullopt;
  }
  void Serve() {
    while (!stop_) {
      asio::ip::tcp::socket client(io_);
      beast::error_code ec;
      acceptor_.accept(client, ec);
      if (ec || stop_) continue;
      beast::tcp_stream stream(std::move(client));
      Relay(stream);
    }
  }
  void Relay(beast::tcp_stream& client) {
    beast::flat_buffer buf;
    for (;;) {
      client.expires_after(std::chrono::seconds(10));
      bhttp::request<bhttp::string_body> req;
      beast::error_code ec;
      bhttp::read(client, buf, req, ec);
      if (ec) return;
      const std::string line = std::string(req.method_string()) + " " + std::string(req.target());
      const std::optional<How> lose = Decide(line);
      if (lose == How::kRequest) return;  // Closing the connection: the node never saw it.
      beast::tcp_stream node(io_);
      node.expires_after(std::chrono::seconds(10));
      node.connect({asio::ip::make_address("127.0.0.1"), node_port_}, ec);
      if (ec) return;
      bhttp::write(node, req, ec);
      beast::flat_buffer node_buf;
      bhttp::response<bhttp::string_body> res;
      bhttp::read(node, node_buf, res, ec);
      if (ec || lose == How::kAnswer) return;  // The node handled it; its answer is lost.
      bhttp::write(client, res, ec);
      if (ec) return;
    }
  }

  uint16_t node_port_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> lost_{0};
  std::mutex mu_;
  std::vector<Rule> rules_;
  std::thread thread_;
};

class PostRetryTest : public NodesTest {
 protected:
  void SetUp() override {
    node_ = &Start({"--group", "blog"});
    ASSERT_TRUE(node_->running());
    author_ = node_->author();
    // The CLI finds the node through node.json: point it at the proxy.
    const std::string info_path = node_->dir() + "/node.json";
    std::ifstream in(info_path);
    auto info = nlohmann::json::parse(in);
    const uint16_t node_port = ParseEndpoint(info["http"].get<std::string>())->port;
    proxy_ = std::make_unique<LossyProxy>(node_port);
    info["http"] = "127.0.0.1:" + std::to_string(proxy_->port());
    std::ofstream(info_path, std::ios::trunc) << info.dump();
  }
  void TearDown() override { proxy_.reset(); }

  // pando post through the proxy: (exit status, stdout); stderr into *err.
  std::pair<int, std::string> Post(const std::string& text, std::string* err) {
    return RunPando({"--data-dir", node_->dir(), "post", "-g", "blog", text}, err);
  }
  // The node's head of its own feed in blog, read directly: (seq, id).
  std::pair<uint64_t, std::string> Head() {
    auto h = node_->api().Get("/api/v1/head?author=" + author_ + "&group=blog");
    EXPECT_TRUE(h.ok());
    if (!h.ok() || (*h)["seq"].get<uint64_t>() == 0) return {0, ""};
    return {(*h)["seq"].get<uint64_t>(), (*h)["id"].get<std::string>()};
  }
  bool PendingLeft() { return std::filesystem::exists(node_->dir() + "/post.pending"); }

  NodeProcess* node_ = nullptr;
  std::string author_;
  std::unique_ptr<LossyProxy> proxy_;
};

TEST_F(PostRetryTest, AnAnswerLostAfterTheCommitIsSettledByAskingTheNode) {
  proxy_->Lose("POST /api/v1/entries", 1, LossyProxy::How::kAnswer);
  std::string err;
  auto [code, out] = Post("hello", &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(proxy_->lost(), 1);
  // The run printed the entry the node stored, and there is one.
  EXPECT_EQ(Head(), std::make_pair(uint64_t{1}, out.substr(0, 64)));
  EXPECT_FALSE(PendingLeft());
}

TEST_F(PostRetryTest, ARequestLostBeforeTheNodeIsSentAgainAsTheSameBytes) {
  proxy_->Lose("POST /api/v1/entries", 1, LossyProxy::How::kRequest);
  std::string err;
  auto [code, out] = Post("hello", &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(proxy_->lost(), 1);
  EXPECT_EQ(Head(), std::make_pair(uint64_t{1}, out.substr(0, 64)));
}

TEST_F(PostRetryTest, TheCommandRunAgainAfterALostAnswerDoesNotPostTwice) {
  // The node stores the entry, then neither its answer nor any answer about the entry
  // reaches the CLI.
  proxy_->Lose("POST /api/v1/entries", 1, LossyProxy::How::kAnswer);
  proxy_->Lose("GET /api/v1/entries/", 100, LossyProxy::How::kAnswer);
  std::string err;
  {
    auto [code, out] = Post("hello", &err);
    EXPECT_EQ(code, 1);
    EXPECT_EQ(out, "");
    EXPECT_NE(err.find("NODE_UNAVAILABLE"), std::string::npos) << err;
    EXPECT_NE(err.find("answer was lost"), std::string::npos) << err;
    EXPECT_NE(err.find("post.pending"), std::string::npos) << err;
  }
  const auto stored = Head();
  ASSERT_EQ(stored.first, 1u) << "the node stored the entry";
  EXPECT_TRUE(PendingLeft());
  // The user runs the command again once the node answers: the same entry, not a second.
  proxy_->LoseNothing();
  auto [code, out] = Post("hello", &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(out.substr(0, 64), stored.second);
  EXPECT_NE(err.find("is stored"), std::string::npos) << err;
  EXPECT_EQ(Head(), stored);
  EXPECT_FALSE(PendingLeft());
  // And the next post follows it.
  auto [next_code, next_out] = Post("again", &err);
  EXPECT_EQ(next_code, 0) << err;
  EXPECT_EQ(Head(), std::make_pair(uint64_t{2}, next_out.substr(0, 64)));
}

}  // namespace
}  // namespace pando::testing
