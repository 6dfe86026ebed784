// NodeConfig: addresses, bootstrap peers, the TOML file and validation.
#include "node/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/crypto.h"
#include "core/error_codes.h"
#include "testutil/feed.h"

namespace pando::node {
namespace {

TEST(EndpointTest, ParsesHostPortAndBracketedV6) {
  auto a = ParseEndpoint("127.0.0.1:7420");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7420);
  auto b = ParseEndpoint("[::1]:0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 0);
  EXPECT_EQ(b->ToString(), "[::1]:0");
  EXPECT_EQ(ParseEndpoint("example.org:80")->ToString(), "example.org:80");
}

TEST(EndpointTest, RefusesWhatIsNotHostPort) {
  for (const char* bad : {"", "7420", ":7420", "host:", "host:65536", "host:-1", "host:12x",
                          "::1:7420", "[::1]7420"}) {
    auto e = ParseEndpoint(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error().code, codes::kBadArgument) << bad;
  }
}

TEST(BootstrapTest, TakesAnAddressWithOrWithoutTheKeyItMustProve) {
  InitCrypto();
  auto plain = ParseBootstrap("10.0.0.1:7420");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->key.has_value());
  const KeyPair key = KeyPair::Generate();
  auto keyed = ParseBootstrap(AuthorId(key.public_key()) + "@10.0.0.1:7420");
  ASSERT_TRUE(keyed.ok());
  ASSERT_TRUE(keyed->key.has_value());
  EXPECT_EQ(*keyed->key, key.public_key());
  EXPECT_EQ(keyed->address.port, 7420);
  EXPECT_FALSE(ParseBootstrap("pdnotakey@10.0.0.1:7420").ok());
  EXPECT_FALSE(ParseBootstrap("10.0.0.1:0").ok());  // A peer to dial needs a port.
}

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.path() + "/node.toml";
    std::ofstream(path) << text;
    return path;
  }
  pando::testing::TempDir dir_;
};

TEST_F(ConfigFileTest, ReadsEveryKeyAndKeepsDefaultsForTheRest) {
  NodeConfig c;
  const std::string path = Write(R"(
listen = "0.0.0.0:9000"
http = "127.0.0.1:9001"
advertise = "node.example.org:9000"
bootstrap = ["10.0.0.1:7420", "10.0.0.2:7420"]
groups = ["blog.alice", "blog.bob", "blog.alice"]
log_level = "debug"
max_connections = 12
ban_seconds = 60
idle_timeout_ms = 5000
peer_frames_per_s_max = 7
)");
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_EQ(c.listen, (Endpoint{"0.0.0.0", 9000}));
  EXPECT_EQ(c.http, (Endpoint{"127.0.0.1", 9001}));
  EXPECT_EQ(c.advertise, "node.example.org:9000");
  ASSERT_EQ(c.bootstrap.size(), 2u);
  EXPECT_EQ(c.bootstrap[1].address.host, "10.0.0.2");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.max_connections, 12u);
  EXPECT_EQ(c.ban_duration, std::chrono::seconds(60));
  EXPECT_EQ(c.idle_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.peer_frames_per_s_max, 7u);
  EXPECT_EQ(c.send_queue_bytes, NodeConfig{}.send_queue_bytes);  // Not in the file.
  // The catalog comes first, repeats go.
  EXPECT_EQ(c.AllGroups(), (std::vector<std::string>{"catalog", "blog.alice", "blog.bob"}));
  EXPECT_TRUE(Validate(c).ok());
}

TEST_F(ConfigFileTest, NamesTheFileLineAndKeyOfABadValue) {
  NodeConfig c;
  auto s = LoadConfigFile(Write("listen = \"127.0.0.1:1\"\nmax_connections = \"many\"\n"), &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, codes::kBadConfig);
  EXPECT_NE(s.error().message.find("node.toml:2"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("max_connections"), std::string::npos);
}

TEST_F(ConfigFileTest, RefusesUnknownKeysSyntaxErrorsAndOutOfRangeValues) {
  NodeConfig c;
  for (const char* text :
       {"listn = \"127.0.0.1:1\"\n", "listen = \n", "ban_seconds = -1\n", "listen = \"nowhere\"\n",
        "groups = [1, 2]\n", "bootstrap = [\"x@1.2.3.4:5\"]\n"}) {
    auto s = LoadConfigFile(Write(text), &c);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.error().code, codes::kBadConfig) << text;
  }
}

TEST(ValidateTest, RefusesBadGroupsLogLevelsAndAWildcardWithoutAdvertise) {
  NodeConfig c;
  EXPECT_TRUE(Validate(c).ok());
  c.groups = {"Bad Group"};
  EXPECT_EQ(Validate(c).error().code, codes::kBadConfig);
  c = NodeConfig{};
  c.log_level = "loud";
  EXPECT_EQ(Validate(c).error().code, codes::kBadConfig);
  c = NodeConfig{};
  c.listen = {"0.0.0.0", 7420};
  EXPECT_EQ(Validate(c).error().code, codes::kBadConfig);
  c.advertise = "node.example.org:7420";
  EXPECT_TRUE(Validate(c).ok());
}

TEST(ValidateTest, LocationIsLatitudeCommaLongitudeInRange) {
  NodeConfig c;
  for (const char* good : {"52.52,13.40", "-33.9, 151.2", "90,-180", "0,0"}) {
    c.location = good;
    EXPECT_TRUE(Validate(c).ok()) << good;
  }
  for (const char* bad : {"52.52", "91,0", "0,181", "north,east", "1,2,3", ",", "52.5;13.4"}) {
    c.location = bad;
    EXPECT_EQ(Validate(c).code(), codes::kBadConfig) << bad;
  }
  auto loc = ParseLocation("-33.9, 151.2");
  ASSERT_TRUE(loc);
  EXPECT_DOUBLE_EQ(loc->first, -33.9);
  EXPECT_DOUBLE_EQ(loc->second, 151.2);
}

}  // namespace
}  // namespace pando::node
