#include "internal/dns_txt.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <cstring>

namespace atcr::identity::internal {

Result<std::vector<std::string>> LookupTxt(std::string_view name,
                                           std::chrono::milliseconds timeout) {
  struct __res_state state;
  std::memset(&state, 0, sizeof(state));
  if (res_ninit(&state) != 0) return Error(ErrorCode::kUnavailable, "resolver init failed");
  state.retrans = static_cast<int>(std::max<int64_t>(1, timeout.count() / 1000));
  state.retry = 1;
  std::vector<uint8_t> answer(8192);
  std::string qname(name);
  int len = res_nquery(&state, qname.c_str(), ns_c_in, ns_t_txt, answer.data(),
                       static_cast<int>(answer.size()));
  int herr = state.res_h_errno;
  res_nclose(&state);
  std::vector<std::string> out;
  if (len < 0) {
    if (herr == HOST_NOT_FOUND || herr == NO_DATA) return out;
    return Error(ErrorCode::kUnavailable, "DNS TXT lookup of " + qname + " failed");
  }
  ns_msg msg;
  if (ns_initparse(answer.data(), len, &msg) != 0) {
    return Error(ErrorCode::kUnavailable, "malformed DNS answer for " + qname);
  }
  int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) continue;
    if (ns_rr_type(rr) != ns_t_txt) continue;
    const uint8_t* p = ns_rr_rdata(rr);
    const uint8_t* end = p + ns_rr_rdlen(rr);
    std::string value;
    while (p < end) {
      size_t n = *p++;
      if (n > static_cast<size_t>(end - p)) break;
      value.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace atcr::identity::internal
