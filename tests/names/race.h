// Many clients racing for the same names on one registry, and the check that what they saw is
// linearizable: shared by the tests of every Registry backend (names_test.cc, etcd_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "names/registry.h"
#include "testutil/feed.h"

namespace pando::names {

// One operation as a client saw it: when it was invoked and when it returned.
struct Op {
  bool lookup = false;
  int client = 0;
  std::string name;
  std::chrono::steady_clock::time_point start, end;
  bool won = false;              // register: registered
  std::optional<PublicKey> saw;  // lookup: the owner it returned
};

// Register-if-absent and lookup on one name form a linearizable history iff there is at
// most one winner W, every lookup that ended before W started saw nothing, every lookup that
// started after W ended saw W's owner, a lookup that saw an owner saw W's, and no register that
// lost ended before W started (it lost to someone).
inline void CheckLinearizable(const std::vector<Op>& ops, const std::vector<PublicKey>& keys) {
  std::map<std::string, std::vector<const Op*>> by_name;
  for (const Op& o : ops) by_name[o.name].push_back(&o);
  for (const auto& [name, list] : by_name) {
    const Op* w = nullptr;
    int winners = 0;
    for (const Op* o : list) {
      if (!o->lookup && o->won) {
        w = o;
        ++winners;
      }
    }
    ASSERT_EQ(winners, 1) << name << " was won " << winners << " times";
    for (const Op* o : list) {
      if (o->lookup) {
        if (o->end < w->start) {
          EXPECT_FALSE(o->saw) << name << ": saw an owner before the win";
        }
        if (o->start > w->end) {
          ASSERT_TRUE(o->saw) << name << ": saw nothing after the win";
        }
        if (o->saw) {
          EXPECT_EQ(*o->saw, keys[w->client]) << name << ": saw another owner than the winner";
        }
      } else if (!o->won) {
        EXPECT_FALSE(o->end < w->start) << name << ": lost before anyone won";
      }
    }
  }
}

// The race: `clients` threads, each with its own registry object from open(client), go through
// the names user0..user<names-1> in an order of their own, registering each with their own key
// or (one time in three) looking it up. Every call must succeed; `completed`, if given, counts
// the operations done so far (a test may break something part-way).
struct Race {
  int clients = 50;
  int names = 100;
  std::function<std::unique_ptr<Registry>(int client)> open;
  std::atomic<int>* completed = nullptr;

  std::vector<KeyPair> keypairs;
  std::vector<PublicKey> keys;
  std::vector<Op> ops;  // Every operation of every client, after Run.

  static std::string Name(int i) { return "user" + std::to_string(i); }

  void Run(int64_t timestamp_ms) {
    for (int i = 0; i < clients; ++i) {
      keypairs.push_back(testing::TestKey(static_cast<uint8_t>(i + 1)));
      keys.push_back(keypairs.back().public_key());
    }
    std::vector<std::vector<Op>> history(clients);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto reg = open(c);
        std::mt19937 rng(c);
        std::vector<int> order(names);
        for (int i = 0; i < names; ++i) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
        ++ready;
        while (ready < clients) std::this_thread::yield();
        for (int i : order) {
          Op op;
          op.client = c;
          op.name = Name(i);
          op.lookup = rng() % 3 == 0;
          op.start = std::chrono::steady_clock::now();
          if (op.lookup) {
            auto r = reg->Lookup(op.name);
            ASSERT_TRUE(r.ok()) << r.error().ToString();
            if (*r) op.saw = (*r)->owner;
          } else {
            auto r = reg->Register(SignRegistration(op.name, keypairs[c], timestamp_ms));
            ASSERT_TRUE(r.ok()) << r.error().ToString();
            ASSERT_NE(r->outcome, Outcome::kInvalid);
            op.won = r->outcome == Outcome::kRegistered;
          }
          op.end = std::chrono::steady_clock::now();
          history[c].push_back(op);
          if (completed != nullptr) ++*completed;
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& h : history) ops.insert(ops.end(), h.begin(), h.end());
  }

  // Every name was tried by about a third of the clients; each must have exactly one winner,
  // whom `reg` still names (every acknowledged registration survived).
  void CheckEachWonOnceAndHeld(Registry& reg) const {
    CheckLinearizable(ops, keys);
    for (int i = 0; i < names; ++i) {
      const Op* winner = nullptr;
      for (const Op& o : ops) {
        if (o.name == Name(i) && o.won) winner = &o;
      }
      ASSERT_NE(winner, nullptr) << Name(i);
      auto held = reg.Lookup(Name(i));
      ASSERT_TRUE(held.ok()) << held.error().ToString();
      ASSERT_TRUE(held->has_value()) << Name(i);
      EXPECT_EQ((*held)->owner, keys[winner->client]) << Name(i);
    }
  }
};

}  // namespace pando::names
