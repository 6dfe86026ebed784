// Error, Status and Result<T>: how fallible calls report failure across module boundaries.
//
// An Error carries a stable code (an upper-case string such as "BAD_SIGNATURE" that scripts,
// the CLI and the HTTP API show unchanged, see docs/errors.md) and a human sentence with the
// details of this occurrence. Codes are string literals with static storage, so copying an
// Error never allocates for the code.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/check.h"

namespace pando {

struct Error {
  std::string_view code;  // One of the constants in core/error_codes.h.
  std::string message;    // A full sentence for people; never parsed by programs.

  // "CODE: message", the form the CLI prints.
  std::string ToString() const { return std::string(code) + ": " + message; }
};

// Result<T> holds either a value or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    CHECK(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    CHECK(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    CHECK(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    CHECK(!ok());
    return std::get<1>(v_);
  }
  std::string_view code() const { return ok() ? std::string_view() : error().code; }

 private:
  std::variant<T, Error> v_;
};

// Status is a Result without a value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  static Status Ok() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    CHECK(!ok_);
    return error_;
  }
  std::string_view code() const { return ok_ ? std::string_view() : error_.code; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace pando

// Returns the error of a Status or Result expression from the enclosing function.
#define PANDO_RETURN_IF_ERROR(expr)                        \
  do {                                                     \
    auto pando_status_ = (expr);                           \
    if (!pando_status_.ok()) return pando_status_.error(); \
  } while (0)
