#include "ir/attrs.h"

#include "ir/error.h"

#include <algorithm>

namespace netc {

Attrs::Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items) {
  for (const auto& [k, v] : items) set(k, v);
}

Attrs& Attrs::set(const std::string& name, AttrValue value) {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const auto& item, const std::string& n) { return item.first < n; });
  if (it != items_.end() && it->first == name)
    it->second = std::move(value);
  else
    items_.insert(it, {name, std::move(value)});
  return *this;
}

const AttrValue* Attrs::find(const std::string& name) const {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const auto& item, const std::string& n) { return item.first < n; });
  return (it != items_.end() && it->first == name) ? &it->second : nullptr;
}

bool Attrs::has(const std::string& name) const { return find(name) != nullptr; }

template <class T>
static const T& get_as(const Attrs& a, const std::string& name, const char* type) {
  const AttrValue* v = a.find(name);
  if (!v) throw ShapeError("missing attribute '" + name + "'");
  if (const T* p = std::get_if<T>(v)) return *p;
  throw ShapeError("attribute '" + name + "' must be " + type);
}

int64_t Attrs::get_int(const std::string& name) const {
  return get_as<int64_t>(*this, name, "an integer");
}

double Attrs::get_float(const std::string& name) const {
  const AttrValue* v = find(name);
  if (v)
    if (const int64_t* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return get_as<double>(*this, name, "a number");
}

const std::string& Attrs::get_str(const std::string& name) const {
  return get_as<std::string>(*this, name, "a string");
}

const std::vector<int64_t>& Attrs::get_ints(const std::string& name) const {
  return get_as<std::vector<int64_t>>(*this, name, "a list of integers");
}

std::vector<double> Attrs::get_floats(const std::string& name) const {
  const AttrValue* v = find(name);
  if (v)
    if (const auto* ints = std::get_if<std::vector<int64_t>>(v))
      return std::vector<double>(ints->begin(), ints->end());
  return get_as<std::vector<double>>(*this, name, "a list of numbers");
}

int64_t Attrs::get_int(const std::string& name, int64_t fallback) const {
  return has(name) ? get_int(name) : fallback;
}
double Attrs::get_float(const std::string& name, double fallback) const {
  return has(name) ? get_float(name) : fallback;
}
std::string Attrs::get_str(const std::string& name, const std::string& fallback) const {
  return has(name) ? get_str(name) : fallback;
}

} // namespace netc
