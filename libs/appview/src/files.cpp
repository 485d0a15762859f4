#include "internal/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "atcr/base/hash.h"

namespace atcr::appview::internal {
namespace {

Result<std::string> ReadSmall(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return ErrnoError("stat " + path, e);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Error(ErrorCode::kPermissionDenied,
                 path + " is accessible by group or others; chmod 600 it");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return InvalidArgument(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return ErrnoError("read " + path, n < 0 ? e : EIO);
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

}  // namespace

Result<std::string> ReadOrCreateSecretFile(const std::string& path, size_t max_bytes,
                                           const std::function<std::string()>& make) {
  if (::access(path.c_str(), F_OK) == 0) return ReadSmall(path, max_bytes);
  std::string value = make();
  std::string tmp = path + ".tmp-" + RandomId();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("create " + tmp, errno);
  size_t put = 0;
  while (put < value.size()) {
    ssize_t n = ::write(fd, value.data() + put, value.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError("write " + tmp, e);
    }
    put += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError("fsync " + tmp, e);
  }
  ::close(fd);
  // link() fails if another process created the file meanwhile; then its value wins.
  int rc = ::link(tmp.c_str(), path.c_str());
  int e = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && e != EEXIST) return ErrnoError("link " + path, e);
  if (rc != 0) return ReadSmall(path, max_bytes);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return value;
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Internal("create directory " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0700);
  return Ok();
}

}  // namespace atcr::appview::internal
