// client::HttpClient against a scripted loopback server (loopback_server.h): what it sends,
// what it makes of answers of every shape, and its errors when the server misbehaves.
#include "client/http_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <mutex>
#include <string>

#include "client/loopback_server.h"
#include "core/error_codes.h"

namespace pando::client {
namespace {

using std::chrono::milliseconds;
using testing::LoopbackServer;
using Clock = std::chrono::steady_clock;

HttpOptions Within(milliseconds timeout, uint64_t body_bytes_max = 1 << 20) {
  HttpOptions o;
  o.timeout = timeout;
  o.body_bytes_max = body_bytes_max;
  return o;
}

HttpRequest Get(std::string target) {
  HttpRequest r;
  r.target = std::move(target);
  return r;
}

// An answer of `status` whose body is the request's method, target and body.
std::string Echo(const LoopbackServer::Request& req, int status) {
  const std::string body =
      std::string(req.method_string()) + " " + std::string(req.target()) + " " + req.body();
  return "HTTP/1.1 " + std::to_string(status) +
         " Whatever\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nX-Seen-Host: " + std::string(req["Host"]) +
         "\r\nX-Content-Type: " + std::string(req["Content-Type"]) + "\r\n\r\n" + body;
}

TEST(HttpClientTest, GivesEveryStatusWithItsHeadersAndBody) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    auto req = LoopbackServer::Read(s);
    if (!req) return;
    const std::string t(req->target());
    LoopbackServer::Write(s, Echo(*req, std::stoi(t.substr(1))));
  });
  HttpClient client(server.endpoint(), Within(milliseconds(5000)));
  for (int status : {200, 201, 204, 301, 404, 500, 503}) {
    auto r = client.Send(Get("/" + std::to_string(status)));
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_EQ(r->status, static_cast<unsigned>(status));
    if (status != 204) {
      EXPECT_EQ(r->body, "GET /" + std::to_string(status) + " ");
    }
    EXPECT_EQ(r->Header("x-seen-host"), server.endpoint().ToString());
    EXPECT_EQ(r->Header("X-SEEN-HOST"), server.endpoint().ToString());
    EXPECT_EQ(r->Header("No-Such-Header"), "");
  }
  HttpRequest post;
  post.method = "POST";
  post.target = "/200?x=1";
  post.headers.push_back({"Content-Type", "application/json"});
  post.body = R"({"a":1})";
  auto r = client.Send(post);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, R"(POST /200?x=1 {"a":1})");
  EXPECT_EQ(r->Header("X-Content-Type"), "application/json");
}

TEST(HttpClientTest, DecodesAChunkedAnswer) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    if (!LoopbackServer::Read(s)) return;
    LoopbackServer::Write(s,
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nchunks\r\n0\r\n\r\n");
  });
  auto r = HttpClient(server.endpoint(), Within(milliseconds(5000))).Send(Get("/"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "hello chunks");
}

TEST(HttpClientTest, ReadsAnAnswerWithoutLengthToTheEnd) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    if (!LoopbackServer::Read(s)) return;
    LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  });
  auto r = HttpClient(server.endpoint(), Within(milliseconds(5000))).Send(Get("/"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "until the end");
}

// A body over the limit is refused as the header announces it, or as a chunked body passes
// the limit, and never buffered whole.
TEST(HttpClientTest, RefusesABodyOverTheLimit) {
  const std::string big(2000, 'x');
  LoopbackServer server([&](LoopbackServer::Socket& s) {
    auto req = LoopbackServer::Read(s);
    if (!req) return;
    if (req->target() == "/length") {
      LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + big);
    } else {
      LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 20; ++i) LoopbackServer::Write(s, "64\r\n" + big.substr(0, 100) + "\r\n");
      LoopbackServer::Write(s, "0\r\n\r\n");
    }
  });
  HttpClient client(server.endpoint(), Within(milliseconds(5000), 1000));
  for (const char* target : {"/length", "/chunked"}) {
    auto r = client.Send(Get(target));
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.code(), codes::kOversize) << target << ": " << r.error().ToString();
  }
  // At the limit it is read.
  auto r = HttpClient(server.endpoint(), Within(milliseconds(5000), 2000)).Send(Get("/length"));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body.size(), 2000u);
}

TEST(HttpClientTest, RefusesHeadersOverTheLimit) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    if (!LoopbackServer::Read(s)) return;
    LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nX-Long: " + std::string(20'000, 'h') +
                                 "\r\nContent-Length: 0\r\n\r\n");
  });
  auto r = HttpClient(server.endpoint(), Within(milliseconds(5000))).Send(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), codes::kOversize) << r.error().ToString();
}

// A server that takes the request and never answers: the call ends at its deadline.
TEST(HttpClientTest, AServerThatNeverAnswersEndsAtTheDeadline) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    if (!LoopbackServer::Read(s)) return;
    LoopbackServer::WaitForClose(s);
  });
  const milliseconds deadline(400);
  const auto start = Clock::now();
  auto r = HttpClient(server.endpoint(), Within(deadline)).Send(Get("/"));
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), codes::kTimeout) << r.error().ToString();
  EXPECT_GE(took, deadline - milliseconds(20));
  EXPECT_LT(took, deadline + milliseconds(1000));
}

// The deadline bounds the whole answer, not each read: a server that trickles bytes is cut
// off too.
TEST(HttpClientTest, ATricklingAnswerEndsAtTheDeadline) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    if (!LoopbackServer::Read(s)) return;
    LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(milliseconds(50));
      boost::system::error_code ec;
      s.write_some(boost::asio::buffer("x", 1), ec);
      if (ec) return;
    }
  });
  const auto start = Clock::now();
  auto r = HttpClient(server.endpoint(), Within(milliseconds(500))).Send(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), codes::kTimeout) << r.error().ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
}

TEST(HttpClientTest, ARefusedConnectionIsUnreachable) {
  Endpoint closed;
  {
    LoopbackServer server([](LoopbackServer::Socket&) {});
    closed = server.endpoint();
  }  // Nothing listens on the port any more.
  auto r = HttpClient(closed, Within(milliseconds(5000))).Send(Get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), codes::kUnreachable) << r.error().ToString();
  EXPECT_NE(r.error().message.find(closed.ToString()), std::string::npos) << r.error().message;
}

TEST(HttpClientTest, AnAnswerCutOffOrMissingIsAClosedConnection) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    auto req = LoopbackServer::Read(s);
    if (!req || req->target() == "/none") return;  // Closes without a word.
    if (req->target() == "/garbage") {
      LoopbackServer::Write(s, "SMTP ready\r\n\r\n");
      return;
    }
    LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  });
  HttpClient client(server.endpoint(), Within(milliseconds(5000)));
  for (const char* target : {"/none", "/cut", "/garbage"}) {
    auto r = client.Send(Get(target));
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.code(), codes::kClosed) << target << ": " << r.error().ToString();
  }
}

// A request that would need escaping is refused before anything is sent: a CR or LF in the
// target or a header would end the line and smuggle in a header or a second request.
TEST(HttpClientTest, RefusesARequestThatCannotBeSentAsItIs) {
  int connections = 0;
  std::mutex mu;
  LoopbackServer server([&](LoopbackServer::Socket&) {
    std::lock_guard lock(mu);
    ++connections;
  });
  HttpClient client(server.endpoint(), Within(milliseconds(2000)));
  HttpRequest header = Get("/");
  header.headers.push_back({"X-A", "b\r\nX-Smuggled: 1"});
  HttpRequest method = Get("/");
  method.method = "GE T";
  for (const HttpRequest& r : {Get("/a b"), Get("/a\r\nX-Smuggled: 1"), Get(""), header, method}) {
    auto answer = client.Send(r);
    ASSERT_FALSE(answer.ok()) << r.target;
    EXPECT_EQ(answer.code(), codes::kBadArgument) << answer.error().ToString();
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(connections, 0);
}

// A server that refuses a large body at once (413) from its header, answers and then drains
// the rest: the answer, which came while the body was still being sent, is read.
TEST(HttpClientTest, ReadsAnEarlyAnswerToALargeBody) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    boost::beast::flat_buffer buffer;
    boost::beast::http::request_parser<boost::beast::http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::system::error_code ec;
    boost::beast::http::read_header(s, buffer, parser, ec);
    if (ec) return;
    LoopbackServer::Write(s, "HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\n\r\nbig");
    s.shutdown(LoopbackServer::Socket::shutdown_send, ec);
    LoopbackServer::WaitForClose(s);
  });
  HttpRequest post;
  post.method = "POST";
  post.target = "/";
  post.body = std::string(4 << 20, 'x');
  auto r = HttpClient(server.endpoint(), Within(milliseconds(5000))).Send(post);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 413u);
  EXPECT_EQ(r->body, "big");
}

}  // namespace
}  // namespace pando::client
