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
    for (auto lane = o.lanes.begin(); lane != o.lanes.end();) {
      std::deque<Bytes>& ready = lane->second.ready;
      const size_t before = ready.size();
      std::erase_if(ready, [&](const Bytes& b) { return AuthorOfEncoding(b) == author; });
      o.ids -= before - ready.size();
      total_ -= before - ready.size();
      if (lane->second.empty()) {
        std::erase(o.turns, lane->first);
        lane = o.lanes.erase(lane);
      } else {
        ++lane;
      }
    }
    it = o.turns.empty() ? owed_.erase(it) : std::next(it);
  }
}

size_t Outflow::Queue(Owed& o, uint32_t handle, bool want, std::span<const Hash32> ids) {
  const size_t room =
      std::min(limits_.owed_ids_max - std::min(limits_.owed_ids_max, o.ids),
               limits_.owed_ids_total_max - std::min(limits_.owed_ids_total_max, total_));
  const size_t taken = std::min(room, ids.size());
  dropped_ += ids.size() - taken;
  if (taken == 0) return ids.size();
  Lane& lane = o.lanes[handle];
  if (lane.empty()) o.turns.push_back(handle);
  std::deque<Hash32>& q = want ? lane.wants : lane.entries;
  q.insert(q.end(), ids.begin(), ids.begin() + static_cast<ptrdiff_t>(taken));
  o.ids += taken;
  total_ += taken;
  return ids.size() - taken;
}

size_t Outflow::Want(NodeId peer, uint32_t handle, std::span<const Hash32> ids) {
  if (ids.empty()) return 0;
  return Queue(owed_[peer], handle, /*want=*/true, ids);
}

size_t Outflow::Owe(NodeId peer, uint32_t handle, std::span<const Hash32> ids) {
  if (ids.empty()) return 0;
  return Queue(owed_[peer], handle, /*want=*/false, ids);
}

bool Outflow::Owes(NodeId peer) const {
  auto it = owed_.find(peer);
  return it != owed_.end() && !it->second.turns.empty();
}

void Outflow::Drop(NodeId peer) {
  auto it = owed_.find(peer);
  if (it == owed_.end()) return;
  total_ -= it->second.ids;
  owed_.erase(it);
}

void Outflow::Read(Owed& o, Lane& lane, OutflowHost& host) {
  const size_t n = std::min(lane.entries.size(), limits_.read_window);
  std::vector<Hash32> ids(lane.entries.begin(), lane.entries.begin() + static_cast<ptrdiff_t>(n));
  lane.entries.erase(lane.entries.begin(), lane.entries.begin() + static_cast<ptrdiff_t>(n));
  std::vector<std::optional<Bytes>> found = host.ReadEntries(ids);
  std::vector<Bytes> ready;
  ready.reserve(found.size());
  for (std::optional<Bytes>& b : found) {
    if (b && b->size() >= entry_layout::kOverhead) ready.push_back(std::move(*b));
  }
  // Not held (any more): nothing to send.
  o.ids -= ids.size() - ready.size();
  total_ -= ids.size() - ready.size();
  // Each feed stays in seq order across windows too, as the peer asked in timestamp order and
  // timestamps grow along a feed.
  std::stable_sort(ready.begin(), ready.end(), EncodingsInFeedOrder);
  for (Bytes& b : ready) lane.ready.push_back(std::move(b));
}

size_t Outflow::SendWant(Owed& o, uint32_t handle, Lane& lane, std::vector<Frame>& out) {
  WantFrame f{handle, {}};
  const size_t n = std::min(lane.wants.size(), kWantIdsMax);
  f.ids.assign(lane.wants.begin(), lane.wants.begin() + static_cast<ptrdiff_t>(n));
  lane.wants.erase(lane.wants.begin(), lane.wants.begin() + static_cast<ptrdiff_t>(n));
  o.ids -= n;
  total_ -= n;
  out.emplace_back(std::move(f));
  return kFrameOverhead + n * sizeof(Hash32);
}

size_t Outflow::SendEntries(Owed& o, uint32_t handle, Lane& lane, OutflowHost& host,
                            std::vector<Frame>& out) {
  if (lane.ready.empty()) Read(o, lane, host);
  if (lane.ready.empty()) return 0;  // None of those ids is held (any more).
  EntriesFrame f{handle, {}};
  size_t bytes = 0;
  while (!lane.ready.empty()) {
    const size_t size = lane.ready.front().size() + 4;
    if (bytes + size > limits_.frame_bytes_max && !f.entries.empty()) break;
    bytes += size;
    f.entries.push_back(std::move(lane.ready.front()));
    lane.ready.pop_front();
  }
  o.ids -= f.entries.size();
  total_ -= f.entries.size();
  out.emplace_back(std::move(f));
  return kFrameOverhead + bytes;
}

bool Outflow::Pump(NodeId peer, size_t queued, OutflowHost& host, std::vector<Frame>& out) {
  auto it = owed_.find(peer);
  if (it == owed_.end()) return false;
  Owed& o = it->second;
  // The groups take turns, one frame each.
  while (!o.turns.empty() && queued < limits_.queue_bytes_max) {
    const uint32_t h = o.turns.front();
    o.turns.pop_front();
    Lane& lane = o.lanes[h];
    queued += lane.wants.empty() ? SendEntries(o, h, lane, host, out) : SendWant(o, h, lane, out);
    if (lane.empty()) {
      o.lanes.erase(h);
    } else {
      o.turns.push_back(h);
    }
  }
  if (!o.turns.empty()) return true;
  owed_.erase(it);
  return false;
}

}  // namespace pando::proto
