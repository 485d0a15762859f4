// registration.did_method: plc — the hold registers a did:plc in a (real, in-process) PLC
// directory on first start and keeps it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "atcr/hold/hold_identity.h"
#include "atcr/identity/did_document.h"
#include "atcr/identity/plc_operation.h"
#include "atcr/net/router.h"
#include "atcr/net/server.h"
#include "atcr/pds/plc_directory.h"
#include "test_util.h"

namespace atcr::hold {
namespace {

struct PlcServer {
  std::unique_ptr<pds::PlcDirectory> dir;
  std::unique_ptr<net::Server> server;

  explicit PlcServer(uint16_t port = 0) {
    auto d = pds::PlcDirectory::Open({});
    EXPECT_TRUE(d.ok());
    dir = std::move(*d);
    net::Router router;
    dir->Register(router);
    net::ServerOptions o;
    o.address = "127.0.0.1";
    o.port = port;
    o.threads = 1;
    server = std::make_unique<net::Server>(o, std::move(router));
    EXPECT_TRUE(server->Start().ok());
  }
  ~PlcServer() { server->Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
};

TEST(HoldPlcIdentity, RegistersOnceAndKeepsTheDid) {
  testing::TempDir dir;
  PlcServer plc;
  auto id = LoadHoldIdentityPlc("https://hold.example.com", dir.path(), plc.url());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_TRUE(id->did.starts_with("did:plc:")) << id->did;

  // The directory serves the hold's document: its signing key and both services.
  auto last = plc.dir->Last(id->did);
  ASSERT_TRUE(last.ok()) << last.error().message;
  auto parsed = identity::ParseDidDocument(identity::RenderPlcDidDocument(id->did, last->op), id->did);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->signing_key, id->signing_key.public_key().DidKey());
  EXPECT_EQ(parsed->pds_endpoint, "https://hold.example.com");
  EXPECT_EQ(parsed->ServiceEndpoint("atcr_hold").value_or(""), "https://hold.example.com");
  EXPECT_EQ(parsed->handle, "hold.example.com");

  // A later start needs no directory at all and gives the same DID and key.
  plc.server->Stop();
  auto again = LoadHoldIdentityPlc("https://hold.example.com", dir.path(), plc.url());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->did, id->did);
  EXPECT_EQ(again->signing_key.public_key(), id->signing_key.public_key());
}

TEST(HoldPlcIdentity, UnreachableDirectoryFailsClearlyAndARetryKeepsTheSameDid) {
  testing::TempDir dir;
  uint16_t port = 0;
  {
    PlcServer probe;  // a port that was free a moment ago
    port = probe.server->port();
  }
  auto down = LoadHoldIdentityPlc("https://hold.example.com", dir.path(),
                                  "http://127.0.0.1:" + std::to_string(port));
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.error().message.find("unreachable"), std::string::npos) << down.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/plc-did"));
  ASSERT_TRUE(std::filesystem::exists(dir.path() + "/plc-genesis.json"));

  PlcServer plc;
  auto id = LoadHoldIdentityPlc("https://hold.example.com", dir.path(), plc.url());
  ASSERT_TRUE(id.ok()) << id.error().message;
  // The DID is the one of the genesis kept before the first attempt.
  std::ifstream in(dir.path() + "/plc-genesis.json");
  std::string genesis((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto op = identity::ParsePlcOperationJson(genesis);
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(id->did, identity::PlcDidForGenesis(*op));
  // Registering again (a crash after submitting, before plc-did was written) is not an error.
  std::filesystem::remove(dir.path() + "/plc-did");
  auto resumed = LoadHoldIdentityPlc("https://hold.example.com", dir.path(), plc.url());
  ASSERT_TRUE(resumed.ok()) << resumed.error().message;
  EXPECT_EQ(resumed->did, id->did);
}

TEST(HoldPlcIdentity, DirectoryErrorIsReported) {
  testing::TempDir dir;
  PlcServer plc;
  // Not a PLC directory at that path: the submission's 404 is the error.
  auto id = LoadHoldIdentityPlc("https://hold.example.com", dir.path(), plc.url() + "/nope");
  ASSERT_FALSE(id.ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/plc-did"));
}

}  // namespace
}  // namespace atcr::hold
