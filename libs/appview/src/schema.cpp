#include "internal/schema.h"

#include <array>

namespace atcr::appview::internal {
namespace {

constexpr std::string_view kV1 = R"sql(
-- PDS sessions of users who logged in (tokens sealed with DATA/secret.key).
CREATE TABLE session (
  did TEXT PRIMARY KEY,
  handle TEXT NOT NULL,
  pds_endpoint TEXT NOT NULL,
  access_sealed BLOB NOT NULL,
  refresh_sealed BLOB NOT NULL,
  updated_at INTEGER NOT NULL
);
-- Blobs readable through a repository (upload commit, mount, or a manifest seen on pull),
-- and the hold that stores them.
CREATE TABLE blob_link (
  did TEXT NOT NULL,
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  hold_did TEXT NOT NULL,
  linked_at INTEGER NOT NULL,
  PRIMARY KEY (did, repository, digest)
) WITHOUT ROWID;
CREATE INDEX blob_link_digest ON blob_link (digest, hold_did);
-- Manifests this AppView pushed or served (for the catalog and a repository's hold).
CREATE TABLE manifest (
  did TEXT NOT NULL,
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  rkey TEXT NOT NULL,
  hold_did TEXT NOT NULL,
  media_type TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (did, repository, digest)
) WITHOUT ROWID;
-- Last known handle of an owner, for catalog names.
CREATE TABLE owner (
  did TEXT PRIMARY KEY,
  handle TEXT NOT NULL
);
-- Open upload sessions (bytes spooled under DATA/uploads/<id>).
CREATE TABLE upload (
  id TEXT PRIMARY KEY,
  did TEXT NOT NULL,
  repository TEXT NOT NULL,
  hold_did TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  touched_at INTEGER NOT NULL
);
)sql";

const std::array<db::Migration, 1> kMigrations = {{{1, kV1}}};

}  // namespace

Result<std::shared_ptr<db::Database>> OpenAppViewDatabase(const std::string& path) {
  ATCR_ASSIGN_OR_RETURN(std::unique_ptr<db::Database> database, db::Database::Open(path));
  ATCR_TRY(database->Migrate(kMigrations));
  return std::shared_ptr<db::Database>(std::move(database));
}

}  // namespace atcr::appview::internal
