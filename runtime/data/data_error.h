// The one error of the data layer. Its message is meant for the user as is:
// it names the file and, where it applies, the row, line or byte offset, and
// says what was expected and what was found. The compiled binary prints it and
// exits non-zero.
#pragma once

#include <stdexcept>

namespace netc::rt {

class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace netc::rt
