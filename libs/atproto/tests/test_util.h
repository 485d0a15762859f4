// Helpers shared by the atproto tests: reading interop vectors at test time.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace atcr::atproto::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Interop(const std::string& rel) {
  return std::string(ATCR_TESTDATA_DIR) + "/atproto-interop/" + rel;
}

// Lines of a syntax vector file: '#' comments and empty lines skipped, everything else kept
// byte for byte (some vectors have leading or trailing spaces on purpose).
inline std::vector<std::string> VectorLines(const std::string& rel) {
  std::vector<std::string> out;
  std::istringstream in(ReadFile(Interop(rel)));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

inline boost::json::value ReadJson(const std::string& path) {
  return boost::json::parse(ReadFile(path));
}

}  // namespace atcr::atproto::testing
