// Subcommand registration for the `atcr` multi-call binary. Each *_cmd.cpp file defines
// one static CommandRegistration; main() adds them all to the CLI in `order`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace atcr::app {

// Returns the process exit code through `*exit_code` when its callback runs.
using CommandAdder = std::function<void(CLI::App& root, int* exit_code)>;

struct CommandRegistration {
  CommandRegistration(int order, CommandAdder adder);
};

// parent's subcommand `name`, added when missing: `config` and `config init` are shared by
// every server's *_cmd.cpp, and whoever registers first creates them.
CLI::App* GetOrAddSubcommand(CLI::App* parent, const std::string& name, const std::string& help);

// `atcr config init <what>`: prints `text()` on stdout, or writes it to -o FILE (refusing to
// replace an existing file without --force; the file appears whole or not at all).
void AddConfigInit(CLI::App& root, int* exit_code, const std::string& what, const std::string& help,
                   std::function<std::string()> text);

}  // namespace atcr::app
