#include "core/identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error_codes.h"

namespace pando {
namespace {
constexpr std::string_view kHeader = "pando-identity-v1";

Error IoError(const std::string& what) {
  return Error{codes::kIo, what + ": " + std::strerror(errno) + "."};
}
}  // namespace

std::string IdentityPath(const std::string& data_dir) { return data_dir + "/identity.key"; }

Result<KeyPair> CreateIdentity(const std::string& data_dir) {
  std::error_code ec;
  // A directory made here is private; an existing one (say --data-dir ~) keeps its mode.
  const bool created = std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Error{codes::kIo,
                 "Cannot create the data directory " + data_dir + ": " + ec.message() + "."};
  }
  if (created && ::chmod(data_dir.c_str(), 0700) != 0) {
    return IoError("Cannot make " + data_dir + " private");
  }
  const std::string path = IdentityPath(data_dir);
  // O_EXCL: an existing key is never overwritten, even by two `init` racing.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Error{codes::kIdentityExists,
                   "An identity already exists at " + path + "; it was left unchanged."};
    }
    return IoError("Cannot create " + path);
  }
  KeyPair key = KeyPair::Generate();
  std::string text = std::string(kHeader) + "\n" + ToHex(key.seed()) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!synced) {
    Error e = IoError("Cannot write " + path);
    ::unlink(path.c_str());
    return e;
  }
  return key;
}

Result<KeyPair> LoadIdentity(const std::string& data_dir) {
  const std::string path = IdentityPath(data_dir);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return Error{codes::kNoIdentity,
                   "No identity in " + data_dir + "; create one with `pando init`."};
    }
    return IoError("Cannot read " + path);
  }
  if ((st.st_mode & 077) != 0) {
    return Error{codes::kBadKeyFile, path +
                                         " is open to other users (its mode has group or other "
                                         "bits); run `chmod 600 " +
                                         path + "` if it is yours."};
  }
  std::ifstream in(path);
  if (!in) return IoError("Cannot read " + path);
  std::string header, hex;
  std::getline(in, header);
  std::getline(in, hex);
  auto seed = FromHex(hex);
  if (header != kHeader || !seed || seed->size() != 32) {
    return Error{codes::kBadKeyFile, path + " is not a Pando identity file."};
  }
  Seed s;
  std::copy(seed->begin(), seed->end(), s.begin());
  KeyPair key = KeyPair::FromSeed(s);
  std::fill(s.begin(), s.end(), 0);
  std::fill(seed->begin(), seed->end(), 0);
  return key;
}

}  // namespace pando
