// Op attributes: a small sorted map from name to a typed value. Attributes are
// printed and parsed generically by the IR text format, so an op family adds
// attributes without touching the printer.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace netc {

// A list of doubles (class weights) is its own alternative: a list of
// integers stays exact, and the IR text tells them apart by their spelling
// ([1,2] vs [1.0,2.0]; an empty list reads back as integers).
using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

class Attrs {
public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items);

  // Insert or replace; keeps the entries sorted by name.
  Attrs& set(const std::string& name, AttrValue value);
  bool has(const std::string& name) const;
  const AttrValue* find(const std::string& name) const;

  // Typed accessors. A missing attribute or a wrong type throws ShapeError
  // (these are read by shape rules, whose caller adds the source location).
  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const; // an int converts
  const std::string& get_str(const std::string& name) const;
  const std::vector<int64_t>& get_ints(const std::string& name) const;
  std::vector<double> get_floats(const std::string& name) const; // an int list converts

  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_float(const std::string& name, double fallback) const;
  std::string get_str(const std::string& name, const std::string& fallback) const;

  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  friend bool operator==(const Attrs&, const Attrs&) = default;

private:
  std::vector<std::pair<std::string, AttrValue>> items_;
};

} // namespace netc
