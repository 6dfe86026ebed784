// The stable error codes of Pando. A code, once released, keeps its meaning forever; new
// situations get new codes. docs/errors.md lists each with what it means and what to do.
#pragma once

#include <string_view>

namespace pando::codes {

// Entry decoding and validation (docs/entry-format.md, "Validation").
inline constexpr std::string_view kMalformed = "MALFORMED";
inline constexpr std::string_view kUnknownVersion = "UNKNOWN_VERSION";
inline constexpr std::string_view kOversize = "OVERSIZE";
inline constexpr std::string_view kInvalidGroup = "INVALID_GROUP";
inline constexpr std::string_view kBadSignature = "BAD_SIGNATURE";
inline constexpr std::string_view kFutureTimestamp = "FUTURE_TIMESTAMP";
inline constexpr std::string_view kTimestampRegression = "TIMESTAMP_REGRESSION";
inline constexpr std::string_view kWrongPrev = "WRONG_PREV";
inline constexpr std::string_view kSeqGap = "SEQ_GAP";
inline constexpr std::string_view kDuplicate = "DUPLICATE";
inline constexpr std::string_view kForked = "FORKED";               // This entry proves a fork.
inline constexpr std::string_view kAuthorForked = "AUTHOR_FORKED";  // Author already cut off.
// Conflicts with a stored entry, but no portable fork proof can be built (docs/entry-format.md).
inline constexpr std::string_view kConflict = "CONFLICT";

// Identifiers, bundles and arguments.
inline constexpr std::string_view kBadId = "BAD_ID";
inline constexpr std::string_view kBadBundle = "BAD_BUNDLE";
inline constexpr std::string_view kBadArgument = "BAD_ARGUMENT";
inline constexpr std::string_view kNotFound = "NOT_FOUND";

// Local state.
inline constexpr std::string_view kNoIdentity = "NO_IDENTITY";
inline constexpr std::string_view kNoStore = "NO_STORE";
inline constexpr std::string_view kIdentityExists = "IDENTITY_EXISTS";
inline constexpr std::string_view kBadKeyFile = "BAD_KEY_FILE";
inline constexpr std::string_view kIo = "IO_ERROR";
inline constexpr std::string_view kStore = "STORE_ERROR";
inline constexpr std::string_view kStoreTooNew = "STORE_TOO_NEW";
inline constexpr std::string_view kVerifyFailed = "VERIFY_FAILED";
// Peer connections (src/net/).
inline constexpr std::string_view kTls = "TLS_ERROR";               // Handshake or TLS failure.
inline constexpr std::string_view kPeerMismatch = "PEER_MISMATCH";  // Proved another key.
inline constexpr std::string_view kTimeout = "TIMEOUT";             // Idle or too slow.
inline constexpr std::string_view kSlowPeer = "SLOW_PEER";          // Send queue overflowed.
inline constexpr std::string_view kClosed = "CONNECTION_CLOSED";    // The peer went away.
inline constexpr std::string_view kUnreachable = "UNREACHABLE";     // Cannot connect.
// The node (src/node/).
inline constexpr std::string_view kBadConfig = "BAD_CONFIG";     // Config file or flags.
inline constexpr std::string_view kProtocol = "PROTOCOL_ERROR";  // Peer broke the protocol.
inline constexpr std::string_view kFlood = "FLOOD";              // Peer sent too much.
// A client or peer went over a rate (requests, bytes or handshakes per second, per address or
// per key); it may try again after the Retry-After it is told (HTTP 429).
inline constexpr std::string_view kRateLimited = "RATE_LIMITED";
// An author went over a quota of this node (entries per second or bytes per day in one group,
// docs/node.md, "Quotas"): the entry is neither stored nor relayed here for now (HTTP 429).
inline constexpr std::string_view kQuotaExceeded = "QUOTA_EXCEEDED";
// The node is at a capacity limit (connections, connections per address, bytes in flight,
// entries held): not the client's fault; try again later (HTTP 503).
inline constexpr std::string_view kBusy = "BUSY";
inline constexpr std::string_view kBanned = "BANNED";  // Peer is banned.
// A peer's score (what it brought this node, against the work it cost) fell below a
// threshold: the node closes it and keeps it away for a while (docs/node.md, "Peer scores").
inline constexpr std::string_view kLowPeerScore = "LOW_PEER_SCORE";
inline constexpr std::string_view kNodeUnavailable = "NODE_UNAVAILABLE";  // Local API.
inline constexpr std::string_view kShuttingDown = "SHUTTING_DOWN";        // Node is stopping.
// The HTTP API (src/http/).
inline constexpr std::string_view kBadJson = "BAD_JSON";                     // Body is not JSON.
inline constexpr std::string_view kMethodNotAllowed = "METHOD_NOT_ALLOWED";  // Wrong method.
inline constexpr std::string_view kForbidden = "FORBIDDEN";  // Admin route, not from loopback.
// A cross-site request to an operator route: a foreign Origin, a Host that is not the node's,
// or a body type a form can send (HTTP 403).
inline constexpr std::string_view kCrossSite = "CROSS_SITE";
inline constexpr std::string_view kBadRequest = "BAD_REQUEST";   // Not valid HTTP/1.1 (400).
inline constexpr std::string_view kUriTooLong = "URI_TOO_LONG";  // Request target (414).
inline constexpr std::string_view kHeadersTooLarge = "HEADERS_TOO_LARGE";  // Header block (431).
// Key-value data (src/crdt/).
inline constexpr std::string_view kBadOperation = "BAD_OPERATION";  // CRDT payload invalid.
// Names (src/names/).
inline constexpr std::string_view kInvalidName = "INVALID_NAME";  // Breaks docs/names.md.
inline constexpr std::string_view kBadClaim = "BAD_CLAIM";        // Claim bytes malformed.
inline constexpr std::string_view kNameTaken = "NAME_TAKEN";      // Held, or a confusable is.
inline constexpr std::string_view kStaleClaim = "STALE_CLAIM";    // Transfer of an old record.
// Discovery (docs/dht-format.md).
inline constexpr std::string_view kExpired = "EXPIRED";  // A DHT record past its ttl.
// The registry's backend (an etcd cluster, or the node that hosts a site's registry) did not
// answer in time; the outcome of a registration in flight is unknown until looked up.
inline constexpr std::string_view kRegistryUnavailable = "REGISTRY_UNAVAILABLE";
inline constexpr std::string_view kNoRegistry = "NO_REGISTRY";  // The node has no registry.
// A failure Pando did not foresee (an exception from a library); a bug to report.
inline constexpr std::string_view kInternal = "INTERNAL_ERROR";

// Every code, for turning a code received as text (from a node's API) back into its constant.
inline constexpr std::string_view kAll[] = {kMalformed,
                                            kUnknownVersion,
                                            kOversize,
                                            kInvalidGroup,
                                            kBadSignature,
                                            kFutureTimestamp,
                                            kTimestampRegression,
                                            kWrongPrev,
                                            kSeqGap,
                                            kDuplicate,
                                            kForked,
                                            kAuthorForked,
                                            kConflict,
                                            kBadId,
                                            kBadBundle,
                                            kBadArgument,
                                            kNotFound,
                                            kNoIdentity,
                                            kNoStore,
                                            kIdentityExists,
                                            kBadKeyFile,
                                            kIo,
                                            kStore,
                                            kStoreTooNew,
                                            kVerifyFailed,
                                            kTls,
                                            kPeerMismatch,
                                            kTimeout,
                                            kSlowPeer,
                                            kClosed,
                                            kUnreachable,
                                            kBadConfig,
                                            kProtocol,
                                            kFlood,
                                            kRateLimited,
                                            kQuotaExceeded,
                                            kBusy,
                                            kBanned,
                                            kLowPeerScore,
                                            kNodeUnavailable,
                                            kShuttingDown,
                                            kBadJson,
                                            kMethodNotAllowed,
                                            kForbidden,
                                            kCrossSite,
                                            kBadRequest,
                                            kUriTooLong,
                                            kHeadersTooLarge,
                                            kBadOperation,
                                            kInvalidName,
                                            kBadClaim,
                                            kNameTaken,
                                            kStaleClaim,
                                            kExpired,
                                            kRegistryUnavailable,
                                            kNoRegistry,
                                            kInternal};
// The constant equal to text, or kInternal if there is none.
inline std::string_view Intern(std::string_view text) {
  for (std::string_view c : kAll) {
    if (c == text) return c;
  }
  return kInternal;
}

}  // namespace pando::codes
