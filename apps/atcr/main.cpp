#include <algorithm>
#include <cstdio>
#include <vector>

#include "atcr/base/log.h"
#include "command.h"

namespace atcr::app {
namespace {
std::vector<std::pair<int, CommandAdder>>& Registry() {
  static std::vector<std::pair<int, CommandAdder>> adders;
  return adders;
}
}  // namespace

CommandRegistration::CommandRegistration(int order, CommandAdder adder) {
  Registry().emplace_back(order, std::move(adder));
}

}  // namespace atcr::app

int main(int argc, char** argv) {
  CLI::App app{"atcr: a container registry on ATProto"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->envname("ATCR_LOG_LEVEL");
  app.set_version_flag("--version", "atcr 0.1.0");
  int exit_code = 0;
  auto& adders = atcr::app::Registry();
  std::stable_sort(adders.begin(), adders.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [order, add] : adders) add(app, &exit_code);
  app.parse_complete_callback([&] { atcr::SetupLogging(log_level); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
