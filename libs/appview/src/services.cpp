#include "atcr/appview/services.h"

#include <spdlog/spdlog.h>

namespace atcr::appview {

Task<Status> JoinHoldCrew(AppViewServices& s, std::string did, HoldInfo hold) {
  std::function<Task<Result<boost::json::object>>(std::string)> join =
      [&s, hold](std::string token) -> Task<Result<boost::json::object>> {
    HoldInfo h = hold;
    co_return co_await s.holds->RequestCrew(std::move(h), std::move(token));
  };
  std::string lxm = "io.atcr.hold.requestCrew";
  auto joined = co_await WithHoldToken<boost::json::object>(s, did, hold, lxm, std::move(join));
  if (!joined.ok()) {
    spdlog::info("appview: {} may not write to hold {} and cannot join its crew: {}", did,
                 hold.did, joined.error().message);
    co_return joined.error();
  }
  spdlog::info("appview: {} joined the crew of hold {}", did, hold.did);
  co_return Ok();
}

}  // namespace atcr::appview
