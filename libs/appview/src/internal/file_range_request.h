// SendFileRange: one HTTP/1.1 request over plain TCP whose body is a byte range of an open
// file, read in 1 MiB pieces as the socket takes them. HoldUploadStore sends blob parts from
// the upload spool this way, so a part of any size costs 1 MiB of memory instead of its own
// size, and the hold can take a whole blob as one part. https is not handled here (callers
// read the range into memory and use net::HttpClient). One connection per request, closed
// after the response. Safe to call from any coroutine; the file descriptor is only read
// (pread), never moved or closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "atcr/base/result.h"
#include "atcr/net/http.h"
#include "atcr/net/http_client.h"

namespace atcr::appview::internal {

struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// True for http:// URLs (the only ones SendFileRange takes).
bool IsPlainHttp(std::string_view url);

// Errors: kInvalidArgument (not an http:// URL, a header with CR/LF), kUnavailable (DNS,
// connect, reset before a response, malformed response, short file), kDeadlineExceeded
// (nothing moved for `idle`: no piece written, no response; an idle limit rather than one for
// the whole exchange, because a part may be gigabytes), kResourceExhausted (response body larger than
// max_response_bytes). A server that answers before taking the whole body (413, 401) and
// closes is reported with its answer, not as a reset.
net::Task<Result<net::ClientResponse>> SendFileRange(net::Method method, std::string url,
                                                     net::Headers headers, FileRange body,
                                                     std::chrono::milliseconds idle,
                                                     uint64_t max_response_bytes = 1 << 20);

}  // namespace atcr::appview::internal
