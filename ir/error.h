// Two error channels (STYLE.md #13): UserError is a located message about the
// user's model or data, turned into "FILE:LINE:COL: error: ..." and exit 1 at the
// command boundary; internal_error() is a compiler bug.
#pragma once

#include <source_location>
#include <stdexcept>
#include <string>
#include <vector>

namespace netc {

// A position in a model file. line/col count from 1; 0 means "unknown".
struct SourceLoc {
  int line = 0;
  int col = 0;
  friend bool operator==(const SourceLoc&, const SourceLoc&) = default;
};

struct Diagnostic {
  std::string file;
  SourceLoc loc;
  std::string message;
  // A note adds context to the error before it ("in call to 'basic' here").
  bool is_note = false;
  // "FILE:LINE:COL: error: MESSAGE" or "...: note: MESSAGE" (the location
  // parts that are known).
  std::string format() const;
};

// One or more located user errors, reported together.
class UserError : public std::exception {
public:
  explicit UserError(std::vector<Diagnostic> diags);
  UserError(std::string file, SourceLoc loc, std::string message);
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }
  const char* what() const noexcept override { return text_.c_str(); }

private:
  std::vector<Diagnostic> diags_;
  std::string text_;
};

// Thrown by shape rules and attribute accessors; the caller knows the location
// and rethrows it as a UserError.
class ShapeError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A broken invariant inside the compiler: a bug of netc, not of the user's
// model. A logic_error, so that nothing meant for the user catches it; the
// command line prints it and exits 3.
class InternalError : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

// Throws "internal compiler error: MESSAGE (at FILE:LINE)", FILE:LINE being the
// caller's, as Halide's internal_assert does: a bug report then says where.
[[noreturn]] void internal_error(const std::string& message,
                                 std::source_location loc = std::source_location::current());

// The closest candidate by edit distance, or "" when nothing is close enough
// to be a plausible typo. Used for "did you mean" hints.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

} // namespace netc
