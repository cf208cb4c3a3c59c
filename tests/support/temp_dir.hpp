// A fresh directory under /tmp for one test, removed with everything in it afterwards.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

namespace hellepoll::test {

// mkdtemp, or an exception naming the template and the error: a test that cannot make its
// directory (a read-only build tree, say) fails there instead of crashing on a null path.
inline std::filesystem::path make_temp_dir(std::string tmpl) {
  if (::mkdtemp(tmpl.data()) == nullptr) {
    const int error = errno;
    throw std::system_error(error, std::generic_category(), "mkdtemp " + tmpl);
  }
  return tmpl;
}

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "hellepoll-test") {
    path = make_temp_dir("/tmp/" + prefix + "-XXXXXX");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace hellepoll::test
