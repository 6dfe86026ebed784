// client::ApiClient against a scripted loopback server: JSON answers, error objects becoming
// Errors, and NODE_UNAVAILABLE for every way of not getting a JSON answer.
#include "client/api_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "client/loopback_server.h"
#include "core/error_codes.h"

namespace pando::client {
namespace {

using std::chrono::milliseconds;
using testing::LoopbackServer;

std::string JsonAnswer(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// Answers /ok with the request's method and body, /refused with an error object, /text with
// a body that is not JSON, and /silent not at all.
void Serve(LoopbackServer::Socket& s) {
  auto req = LoopbackServer::Read(s);
  if (!req) return;
  const std::string target(req->target());
  if (target == "/ok") {
    nlohmann::json j = {{"method", std::string(req->method_string())},
                        {"body", req->body()},
                        {"content_type", std::string((*req)["Content-Type"])}};
    LoopbackServer::Write(s, JsonAnswer(200, j.dump()));
  } else if (target == "/refused") {
    LoopbackServer::Write(
        s, JsonAnswer(409, R"({"error":{"code":"NAME_TAKEN","message":"Taken already."}})"));
  } else if (target == "/text") {
    LoopbackServer::Write(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  } else if (target == "/silent") {
    LoopbackServer::WaitForClose(s);
  }
}

TEST(ApiClientTest, SendsJsonAndReadsJson) {
  LoopbackServer server(Serve);
  ApiClient api(server.endpoint(), milliseconds(5000));
  auto got = api.Get("/ok");
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ((*got)["method"], "GET");
  EXPECT_EQ((*got)["body"], "");
  auto posted = api.Post("/ok", {{"a", 1}});
  ASSERT_TRUE(posted.ok()) << posted.error().ToString();
  EXPECT_EQ((*posted)["method"], "POST");
  EXPECT_EQ((*posted)["body"], R"({"a":1})");
  EXPECT_EQ((*posted)["content_type"], "application/json");
  auto put = api.Put("/ok", {{"b", 2}});
  ASSERT_TRUE(put.ok()) << put.error().ToString();
  EXPECT_EQ((*put)["method"], "PUT");
  auto deleted = api.Delete("/ok");
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToString();
  EXPECT_EQ((*deleted)["method"], "DELETE");
}

TEST(ApiClientTest, AnErrorObjectBecomesThatError) {
  LoopbackServer server(Serve);
  ApiClient api(server.endpoint(), milliseconds(5000));
  auto r = api.Get("/refused");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), codes::kNameTaken);
  EXPECT_EQ(r.error().message, "Taken already.");
  // Exchange keeps the answer whole instead.
  auto a = api.Exchange("GET", "/refused");
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->status, 409u);
  EXPECT_EQ(a->body["error"]["code"], "NAME_TAKEN");
}

TEST(ApiClientTest, NoJsonAnswerIsNodeUnavailable) {
  Endpoint closed;
  {
    LoopbackServer gone([](LoopbackServer::Socket&) {});
    closed = gone.endpoint();
  }
  LoopbackServer server(Serve);
  ApiClient api(server.endpoint(), milliseconds(300));
  for (const char* target : {"/text", "/silent", "/closes"}) {
    auto r = api.Get(target);
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_EQ(r.code(), codes::kNodeUnavailable) << target << ": " << r.error().ToString();
  }
  auto r = ApiClient(closed, milliseconds(300)).Get("/ok");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), codes::kNodeUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message.find(closed.ToString()), std::string::npos) << r.error().message;
}

// node.json names the node a data directory runs with; without it, or when the process it
// names is gone, there is no running node.
TEST(ApiClientTest, FindsTheNodeOfADataDirectory) {
  LoopbackServer server([](LoopbackServer::Socket& s) {
    if (LoopbackServer::Read(s)) LoopbackServer::Write(s, JsonAnswer(200, R"({"ok":true})"));
  });
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("pando_api_client_" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  auto none = ApiClient::ForDataDir(dir);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto write_info = [&](int pid) {
    std::ofstream(NodeInfoPath(dir))
        << nlohmann::json{{"http", server.endpoint().ToString()}, {"pid", pid}}.dump();
  };
  write_info(::getpid());
  auto found = ApiClient::ForDataDir(dir);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->endpoint(), server.endpoint());
  write_info(std::numeric_limits<int>::max());  // No such process.
  auto stale = ApiClient::ForDataDir(dir);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pando::client
