// Test helper: a throwaway CA and server certificates made with the `openssl` CLI in a temp
// dir, for TLS tests of the HTTP and WebSocket clients.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace atcr::net {

// A CA plus two leaf certificates it signed: "good" for localhost and 127.0.0.1, "wrong" for
// wrong.example only.
class TestPki {
 public:
  TestPki() {
    dir_ = std::filesystem::temp_directory_path() / ("atcr-tls-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj /CN=atcr-test-ca -keyout ca.key -out ca.pem");
    Leaf("good", "DNS:localhost,IP:127.0.0.1");
    Leaf("wrong", "DNS:wrong.example");
  }
  ~TestPki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  void Leaf(const std::string& name, const std::string& san) {
    std::ofstream(dir_ / (name + ".ext"))
        << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n"
        << "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n";
    Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + name +
        " -keyout " + name + ".key -out " + name + ".csr");
    Run("openssl x509 -req -days 2 -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile " +
        name + ".ext -out " + name + ".pem");
  }
  void Run(const std::string& cmd) {
    std::string full = "cd '" + dir_.string() + "' && " + cmd + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << full;
  }
  std::filesystem::path dir_;
};

}  // namespace atcr::net
