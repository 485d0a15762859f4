// Subcommand registration for the `atcr` multi-call binary. Each *_cmd.cpp file defines
// one static CommandRegistration; main() adds them all to the CLI in `order`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace atcr::app {

// Returns the process exit code through `*exit_code` when its callback runs.
using CommandAdder = std::function<void(CLI::App& root, int* exit_code)>;

struct CommandRegistration {
  CommandRegistration(int order, CommandAdder adder);
};

}  // namespace atcr::app
