// Unit tests of src/http/limits.h: the token bucket and the gate, driven by a fake `now`.
#include "http/limits.h"

#include <gtest/gtest.h>

namespace pando::http {
namespace {

using std::chrono::milliseconds;
namespace ip = boost::asio::ip;

const SteadyTime kT0 = SteadyTime() + std::chrono::hours(1);

Limits Small() {
  Limits l;
  l.connections_per_address_max = 2;
  l.connections_max = 3;
  l.refusals_max = 1;
  l.body_in_flight_per_address_bytes_max = 100;
  l.body_in_flight_bytes_max = 150;
  l.write_bytes_per_second = 100;
  l.write_burst_bytes = 200;
  l.write_requests_per_second = 1;
  l.write_burst_requests = 3;
  l.rate_addresses_max = 2;
  return l;
}

TEST(GateTest, ConnectionsPerAddressAndInAll) {
  Gate g(Small());
  const auto a = ip::make_address("10.0.0.1"), b = ip::make_address("10.0.0.2");
  EXPECT_TRUE(g.OpenConnection(a));
  EXPECT_TRUE(g.OpenConnection(a));
  EXPECT_FALSE(g.OpenConnection(a));  // Its address is at 2.
  EXPECT_TRUE(g.OpenConnection(b));
  EXPECT_FALSE(g.OpenConnection(ip::make_address("10.0.0.3")));  // The port is at 3.
  EXPECT_EQ(g.connections(), 3u);
  g.CloseConnection(a);
  EXPECT_TRUE(g.OpenConnection(ip::make_address("10.0.0.3")));
  g.CloseConnection(ip::make_address("10.0.0.9"));  // Never opened: nothing changes.
  EXPECT_EQ(g.connections(), 3u);
  EXPECT_TRUE(g.BeginRefusal());
  EXPECT_FALSE(g.BeginRefusal());
  g.EndRefusal();
  EXPECT_TRUE(g.BeginRefusal());
}

TEST(GateTest, BodiesInFlightPerAddressAndInAll) {
  Gate g(Small());
  const auto a = ip::make_address("10.0.0.1"), b = ip::make_address("10.0.0.2");
  EXPECT_TRUE(g.ReserveBody(a, 60));
  EXPECT_FALSE(g.ReserveBody(a, 41));  // 101 for a.
  EXPECT_TRUE(g.ReserveBody(a, 40));
  EXPECT_TRUE(g.ReserveBody(b, 50));
  EXPECT_FALSE(g.ReserveBody(b, 1));  // 151 in all.
  EXPECT_TRUE(g.ReserveBody(b, 0));
  g.ReleaseBody(a, 60);
  EXPECT_TRUE(g.ReserveBody(b, 50));
}

TEST(GateTest, WritesAreChargedPerAddressInBytesAndRequests) {
  Gate g(Small());
  const auto a = ip::make_address("10.0.0.1"), b = ip::make_address("10.0.0.2");
  EXPECT_EQ(g.ChargeWrite(a, 150, kT0), std::nullopt);
  EXPECT_EQ(g.ChargeWrite(a, 100, kT0), milliseconds(500));  // 50 bytes left of 200.
  EXPECT_EQ(g.ChargeWrite(b, 100, kT0), std::nullopt);       // Another address.
  EXPECT_EQ(g.ChargeWrite(a, 100, kT0 + milliseconds(500)), std::nullopt);
  // Three requests at most at once, then one a second, however small.
  EXPECT_EQ(g.ChargeWrite(b, 0, kT0), std::nullopt);
  EXPECT_EQ(g.ChargeWrite(b, 0, kT0), std::nullopt);
  EXPECT_EQ(g.ChargeWrite(b, 0, kT0), milliseconds(1000));
}

TEST(GateTest, RateTableIsBoundedAndForgetsOnlyFullBuckets) {
  Gate g(Small());
  const auto a = ip::make_address("10.0.0.1"), b = ip::make_address("10.0.0.2"),
             c = ip::make_address("10.0.0.3");
  EXPECT_EQ(g.ChargeWrite(a, 200, kT0), std::nullopt);
  EXPECT_EQ(g.ChargeWrite(b, 200, kT0), std::nullopt);
  // The table holds two addresses, both drawn on: a third waits.
  EXPECT_TRUE(g.ChargeWrite(c, 1, kT0).has_value());
  // Once a's bucket has refilled, a is forgotten and c gets a bucket.
  EXPECT_EQ(g.ChargeWrite(c, 1, kT0 + std::chrono::seconds(3)), std::nullopt);
}

TEST(GateTest, KeysAreAddressesAndIpv6Slash64s) {
  EXPECT_EQ(Gate::KeyOf(ip::make_address("10.1.2.3")), ip::make_address("10.1.2.3"));
  EXPECT_EQ(Gate::KeyOf(ip::make_address("::ffff:10.1.2.3")), ip::make_address("10.1.2.3"));
  EXPECT_EQ(Gate::KeyOf(ip::make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip::make_address("2001:db8:1:2::"));
}

}  // namespace
}  // namespace pando::http
