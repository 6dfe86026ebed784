// The handlers of the route table (routes.cc), by the file that defines them. Each has the
// routes.h Handler signature and is reached only through the table, which has already
// matched the method and path, decoded the {parameters} into `p` and, for an operator route,
// accepted the caller. docs/api.md and docs/web.md describe what each answers.
#pragma once

#include "http/http.h"

namespace pando::http {

// api_routes.cc: entries, the log, posts, search, status, waits and peer blocks.
void StatusGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void EntriesPost(Context& ctx, const Call& call, const Params& p, Respond& respond);
void EntryGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void HeadGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void LogGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void LatestGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void SearchGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void GroupsGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void GroupEntriesGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void AuthorPostsGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void AuthorIdGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void WaitGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void PeersBlockPost(Context& ctx, const Call& call, const Params& p, Respond& respond);
void PeersUnblockPost(Context& ctx, const Call& call, const Params& p, Respond& respond);
// A GET of a stream route without the WebSocket upgrade: 405.
void StreamWithoutUpgrade(Context& ctx, const Call& call, const Params& p, Respond& respond);

// data_routes.cc: key-value maps, CRDT objects, profiles, follows, timelines, the clock.
void KvList(Context& ctx, const Call& call, const Params& p, Respond& respond);
void KvGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void KvPut(Context& ctx, const Call& call, const Params& p, Respond& respond);
void KvDelete(Context& ctx, const Call& call, const Params& p, Respond& respond);
void ObjectsGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void ObjectGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void ProfileGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void ProfilePut(Context& ctx, const Call& call, const Params& p, Respond& respond);
void FollowsGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void FollowAdd(Context& ctx, const Call& call, const Params& p, Respond& respond);
void FollowRemove(Context& ctx, const Call& call, const Params& p, Respond& respond);
void PostBySlugGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void TimelineGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void ClockGet(Context& ctx, const Call& call, const Params& p, Respond& respond);

// name_routes.cc: names.
void NameRegister(Context& ctx, const Call& call, const Params& p, Respond& respond);
void NameTransfer(Context& ctx, const Call& call, const Params& p, Respond& respond);
void NameGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void NamesList(Context& ctx, const Call& call, const Params& p, Respond& respond);

// find_routes.cc: discovery (the DHT).
void FindGroupGet(Context& ctx, const Call& call, const Params& p, Respond& respond);
void FindFeedGet(Context& ctx, const Call& call, const Params& p, Respond& respond);

// pages.cc: the web UI's pages.
void FrontPage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void SearchPage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void WritePage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void AuthorPage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void SlugPage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void UsernamePage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void UsernameSlugPage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void PostPage(Context& ctx, const Call& call, const Params& p, Respond& respond);
void GroupPage(Context& ctx, const Call& call, const Params& p, Respond& respond);

// static.cc: the embedded files.
void StaticGet(Context& ctx, const Call& call, const Params& p, Respond& respond);

// metrics.cc: /metrics.
void MetricsGet(Context& ctx, const Call& call, const Params& p, Respond& respond);

// The HTML error page of `e`, with its code's status (pages.cc).
Response ErrorPage(const Call& call, const Error& e);

// Answers r's value as JSON with `status`, or its error (routes.cc).
void Answer(Respond& respond, const Call& call, const Result<nlohmann::json>& r,
            unsigned status = 200);

}  // namespace pando::http
