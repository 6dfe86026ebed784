#include "proto/outflow.h"

#include <algorithm>
#include <cstring>

#include "core/entry.h"

namespace pando::proto {
namespace {

// A frame's bytes besides its ids or entries (type, handle, counts), counted against the
// queue as the frame is sent.
constexpr size_t kFrameOverhead = 16;

int CompareAuthors(const Bytes& a, const Bytes& b) {
  return std::memcmp(a.data() + entry_layout::kAuthor, b.data() + entry_layout::kAuthor,
                     sizeof(PublicKey));
}

}  // namespace

bool EncodingsInFeedOrder(const Bytes& a, const Bytes& b) {
  const int c = CompareAuthors(a, b);
  return c != 0 ? c < 0 : GetU64(&a[entry_layout::kSeq]) < GetU64(&b[entry_layout::kSeq]);
}

bool SameAuthor(const Bytes& a, const Bytes& b) { return CompareAuthors(a, b) == 0; }

PublicKey AuthorOfEncoding(const Bytes& e) {
  PublicKey author;
  std::memcpy(author.data(), e.data() + entry_layout::kAuthor, sizeof author);
  return author;
}

void Outflow::Withhold(const PublicKey& author) {
  for (auto it = owed_.begin(); it != owed_.end();) {
    Owed& o = it->second;
    const size_t before = o.ready.size();
    std::erase_if(o.ready, [&](const auto& r) { return AuthorOfEncoding(r.second) == author; });
    total_ -= before - o.ready.size();
    it = o.empty() ? owed_.erase(it) : std::next(it);
  }
}

size_t Outflow::Queue(std::deque<std::pair<uint32_t, Hash32>>& q, const Owed& o, uint32_t handle,
                      std::span<const Hash32> ids) {
  const size_t room =
      std::min(limits_.owed_ids_max - std::min(limits_.owed_ids_max, o.ids()),
               limits_.owed_ids_total_max - std::min(limits_.owed_ids_total_max, total_));
  const size_t taken = std::min(room, ids.size());
  total_ += taken;
  for (size_t i = 0; i < taken; ++i) q.emplace_back(handle, ids[i]);
  dropped_ += ids.size() - taken;
  return ids.size() - taken;
}

size_t Outflow::Want(NodeId peer, uint32_t handle, std::span<const Hash32> ids) {
  if (ids.empty()) return 0;
  Owed& o = owed_[peer];
  return Queue(o.wants, o, handle, ids);
}

size_t Outflow::Owe(NodeId peer, uint32_t handle, std::span<const Hash32> ids) {
  if (ids.empty()) return 0;
  Owed& o = owed_[peer];
  return Queue(o.entries, o, handle, ids);
}

bool Outflow::Owes(NodeId peer) const {
  auto it = owed_.find(peer);
  return it != owed_.end() && !it->second.empty();
}

void Outflow::Drop(NodeId peer) {
  auto it = owed_.find(peer);
  if (it == owed_.end()) return;
  total_ -= it->second.ids();
  owed_.erase(it);
}

void Outflow::Read(Owed& o, OutflowHost& host) {
  const uint32_t h = o.entries.front().first;
  std::vector<Hash32> ids;
  while (!o.entries.empty() && o.entries.front().first == h && ids.size() < limits_.read_window) {
    ids.push_back(o.entries.front().second);
    o.entries.pop_front();
  }
  std::vector<std::optional<Bytes>> found = host.ReadEntries(ids);
  std::vector<Bytes> ready;
  ready.reserve(found.size());
  for (std::optional<Bytes>& b : found) {
    if (b && b->size() >= entry_layout::kOverhead) ready.push_back(std::move(*b));
  }
  total_ -= ids.size() - ready.size();  // Not held (any more): nothing to send.
  // Each feed stays in seq order across windows too, as the peer asked in timestamp order and
  // timestamps grow along a feed.
  std::stable_sort(ready.begin(), ready.end(), EncodingsInFeedOrder);
  for (Bytes& b : ready) o.ready.emplace_back(h, std::move(b));
}

bool Outflow::Pump(NodeId peer, size_t queued, OutflowHost& host, std::vector<Frame>& out) {
  auto it = owed_.find(peer);
  if (it == owed_.end()) return false;
  Owed& o = it->second;
  while (!o.wants.empty() && queued < limits_.queue_bytes_max) {
    const uint32_t h = o.wants.front().first;
    WantFrame f{h, {}};
    while (!o.wants.empty() && o.wants.front().first == h && f.ids.size() < kWantIdsMax) {
      f.ids.push_back(o.wants.front().second);
      o.wants.pop_front();
    }
    total_ -= f.ids.size();
    queued += kFrameOverhead + f.ids.size() * sizeof(Hash32);
    out.emplace_back(std::move(f));
  }
  while ((!o.ready.empty() || !o.entries.empty()) && queued < limits_.queue_bytes_max) {
    if (o.ready.empty()) Read(o, host);
    if (o.ready.empty()) continue;  // None of those ids is held (any more).
    const uint32_t h = o.ready.front().first;
    EntriesFrame f{h, {}};
    size_t bytes = 0;
    while (!o.ready.empty() && o.ready.front().first == h) {
      const size_t size = o.ready.front().second.size() + 4;
      if (bytes + size > limits_.frame_bytes_max && !f.entries.empty()) break;
      bytes += size;
      f.entries.push_back(std::move(o.ready.front().second));
      o.ready.pop_front();
    }
    total_ -= f.entries.size();
    queued += kFrameOverhead + bytes;
    out.emplace_back(std::move(f));
  }
  if (!o.empty()) return true;
  owed_.erase(it);
  return false;
}

}  // namespace pando::proto
