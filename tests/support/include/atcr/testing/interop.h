// Test-only helpers shared by every module's unit tests: reading the ATProto interop vectors in
// testdata/atproto-interop/ at test time. A missing or unreadable file is a test failure, never
// an empty (vacuously passing) set of vectors.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace atcr::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Path of a file under testdata/atproto-interop/, e.g. Interop("crypto/w3c_didkey_K256.json").
inline std::string Interop(const std::string& rel) {
  return std::string(ATCR_TESTDATA_DIR) + "/atproto-interop/" + rel;
}

// Lines of a vector file: '#' comments and empty lines skipped, everything else kept byte for
// byte (some vectors have leading or trailing spaces on purpose).
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
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(ReadFile(path), ec);
  EXPECT_FALSE(ec) << path << ": " << ec.message();
  return v;
}

inline boost::json::value ReadInteropJson(const std::string& rel) { return ReadJson(Interop(rel)); }

}  // namespace atcr::testing
