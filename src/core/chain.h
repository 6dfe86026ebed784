// Chain verification: authenticating a run of one feed's entries with one signature check.
//
// A feed is the sequence of one author's entries in one group: seq and prev count within
// (author, group), so a node that carries a group holds complete feeds of it.
//
// Entry n+1 carries prev = id(entry n), and an id is the hash of a whole entry, signature
// included. So an author who signs entry k commits to the exact bytes of every earlier
// entry of the feed. docs/entry-format.md ("Authentication and chain verification") states
// the rule every node applies:
//
//   An entry is authenticated when its own signature verifies, or when an authenticated
//   later entry of the same feed links to it through an unbroken chain of prev ids.
//
// The verdict depends only on the entries at hand, never on how a node batches them, so a
// node that checks every signature and a node that checks one per run accept the same set.
#pragma once

#include <span>

#include "core/entry.h"
#include "core/error.h"

namespace pando {

// The verdict on a run.
struct RunVerdict {
  // run[0, linked) are consecutive entries of one feed: same author and group, seq increasing by
  // one, each prev the id of the one before, timestamps not decreasing.
  size_t linked = 0;
  // Why run[linked] does not link to run[linked-1] (unset when linked == run.size()).
  Status link_error;
  // run[0, authenticated) are authenticated by the last entry in run[0, linked) whose own
  // signature verifies; authenticated <= linked. Entries in [authenticated, linked) are not
  // authenticated by this run; a later entry of the feed may still authenticate them.
  size_t authenticated = 0;
  // Signature checks spent (1 for an honest run).
  size_t signatures_checked = 0;
};

// Checks the links of `run` and then signatures from the end of the linked part backwards
// until one verifies. The first entry is not checked against any stored feed head; that is
// the caller's job (CheckSuccessor).
RunVerdict AuthenticateRun(std::span<const Entry> run);

}  // namespace pando
