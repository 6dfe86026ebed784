#include "core/chain.h"

#include "core/error_codes.h"

namespace pando {

RunVerdict AuthenticateRun(std::span<const Entry> run) {
  RunVerdict v;
  if (run.empty()) return v;
  v.linked = 1;
  const PublicKey author = run[0].author();
  const std::string_view group = run[0].group();
  for (; v.linked < run.size(); ++v.linked) {
    const Entry& prev = run[v.linked - 1];
    const Entry& next = run[v.linked];
    if (next.author() != author || next.group() != group) {
      v.link_error = Error{codes::kSeqGap, "The run changes feed (author or group)."};
      break;
    }
    FeedHead head{prev.seq(), prev.id(), prev.timestamp_ms()};
    if (next.seq() <= head.seq) {
      v.link_error = Error{codes::kSeqGap, "The run's seq numbers do not increase."};
      break;
    }
    Status s = CheckSuccessor(head, next);
    if (!s.ok()) {
      v.link_error = s;
      break;
    }
  }
  // The last entry of an honest run verifies at once. A run whose tail carries bad
  // signatures costs one check per entry, no more than checking every entry would.
  for (size_t i = v.linked; i > 0; --i) {
    ++v.signatures_checked;
    if (VerifyEntrySignature(run[i - 1]).ok()) {
      v.authenticated = i;
      break;
    }
  }
  return v;
}

}  // namespace pando
