// `atcr config init <server>` and the shared `config` / `config init` parents.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "command.h"

namespace atcr::app {
namespace {

int WriteConfig(const std::string& what, const std::string& text, const std::string& output,
                bool force) {
  if (output.empty() || output == "-") {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  std::error_code ec;
  if (!force && std::filesystem::exists(output, ec)) {
    std::fprintf(stderr, "atcr config init %s: %s exists (use --force)\n", what.c_str(),
                 output.c_str());
    return 1;
  }
  const std::string tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::filesystem::remove(tmp, ec);
      std::fprintf(stderr, "atcr config init %s: cannot write %s\n", what.c_str(), output.c_str());
      return 1;
    }
  }
  std::filesystem::rename(tmp, output, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    std::fprintf(stderr, "atcr config init %s: cannot write %s\n", what.c_str(), output.c_str());
    return 1;
  }
  std::printf("wrote %s\n", output.c_str());
  return 0;
}

}  // namespace

CLI::App* GetOrAddSubcommand(CLI::App* parent, const std::string& name, const std::string& help) {
  try {
    return parent->get_subcommand(name);
  } catch (const CLI::OptionNotFound&) {
    return parent->add_subcommand(name, help);
  }
}

void AddConfigInit(CLI::App& root, int* exit_code, const std::string& what, const std::string& help,
                   std::function<std::string()> text) {
  auto* config = GetOrAddSubcommand(&root, "config", "configuration files");
  auto* init = GetOrAddSubcommand(config, "init", "print or write a commented default config");
  auto output = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto* cmd = init->add_subcommand(what, help);
  cmd->add_option("-o,--output", *output, "file to write (default: stdout)");
  cmd->add_flag("-f,--force", *force, "overwrite an existing file");
  cmd->callback([what, text = std::move(text), output, force, exit_code] {
    *exit_code = WriteConfig(what, text(), *output, *force);
  });
}

}  // namespace atcr::app
