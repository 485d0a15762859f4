// Secret files of the account side: the data directory (0700), the JWT secret and private
// keys (0600, written atomically, refused when group/others can read them).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "atcr/base/hash.h"
#include "internal/account_service_impl.h"

namespace atcr::pds {
namespace internal {
namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status EnsurePrivateDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return InvalidArgument(dir + " exists and is not a directory");
    return Ok();
  }
  std::error_code ec;
  std::filesystem::path p(dir);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir " + dir, errno);
  }
  if (::chmod(dir.c_str(), 0700) != 0) return ErrnoError("chmod " + dir, errno);
  return Ok();
}

Result<std::optional<std::string>> ReadSecretFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return ErrnoError("open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("stat " + path, err);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Error(ErrorCode::kPermissionDenied,
                 path + " is readable by group or others; chmod 600 it");
  }
  if (st.st_size > 64 * 1024) {
    ::close(fd);
    return InvalidArgument(path + " is too large for a secret file");
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError("read " + path, n == 0 ? EIO : err);
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' ||
                          out.back() == '\t')) {
    out.pop_back();
  }
  return std::optional<std::string>(std::move(out));
}

Status WriteSecretFile(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp-" + RandomId();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create " + tmp, errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError("write " + tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError("fsync " + tmp, err);
  }
  ::close(fd);
  // link() instead of rename(): never replace a file a concurrent first start just wrote.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return Error(ErrorCode::kAlreadyExists, path + " already exists");
    return ErrnoError("link " + path, err);
  }
  ::unlink(tmp.c_str());
  int dfd = ::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

}  // namespace internal

Result<crypto::PrivateKey> LoadOrCreateKeyFile(const std::string& path, crypto::KeyType type) {
  ATCR_ASSIGN_OR_RETURN(auto existing, internal::ReadSecretFile(path));
  if (existing) {
    auto key = crypto::PrivateKey::FromHex(type, *existing);
    if (!key.ok()) {
      return InvalidArgument(path + ": not a " + crypto::KeyTypeName(type) +
                             " private key (64 hex characters): " + key.error().message);
    }
    return std::move(key).value();
  }
  crypto::PrivateKey key = crypto::PrivateKey::Generate(type);
  std::string hex = HexEncode(key.secret_bytes()) + "\n";
  Status written = internal::WriteSecretFile(path, hex);
  if (!written.ok()) {
    // Lost a race with another first start: use what it wrote.
    if (written.error().code == ErrorCode::kAlreadyExists) {
      return LoadOrCreateKeyFile(path, type);
    }
    return written.error();
  }
  return key;
}

}  // namespace atcr::pds
