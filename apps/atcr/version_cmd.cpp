#include <cstdio>

#include "command.h"

namespace atcr::app {
namespace {
CommandRegistration kVersion(1000, [](CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("version", "print the atcr version");
  cmd->callback([exit_code] {
    std::printf("atcr 0.1.0\n");
    *exit_code = 0;
  });
});
}  // namespace
}  // namespace atcr::app
