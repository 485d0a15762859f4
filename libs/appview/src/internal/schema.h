// The AppView's SQLite schema (DATA/appview.sqlite): one migration list for every table, so
// the stores that share the database never race each other's migrations.
#pragma once

#include <memory>
#include <string>

#include "atcr/base/result.h"
#include "atcr/db/database.h"

namespace atcr::appview::internal {

// Opens (creating) the database at `path` (":memory:" for tests) and migrates it.
Result<std::shared_ptr<db::Database>> OpenAppViewDatabase(const std::string& path);

}  // namespace atcr::appview::internal
