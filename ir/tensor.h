// A dense, row-major host tensor with a concrete shape: the value type of the
// reference interpreter. Templated on the element type so that the reference
// runs in float (to compare with compiled kernels) and in double (gradient
// checking). Integer tensors (class labels) are held in T as exact integers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace netc {

template <class T>
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<T> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s, T fill = T(0)) : shape(std::move(s)) {
    data.assign(static_cast<size_t>(count(shape)), fill);
  }

  static int64_t count(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
  }
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t size() const { return static_cast<int64_t>(data.size()); }
  int64_t dim(int i) const { return shape[static_cast<size_t>(i)]; }
  T& operator[](int64_t i) { return data[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data[static_cast<size_t>(i)]; }

  // Row-major strides, in elements.
  std::vector<int64_t> strides() const {
    std::vector<int64_t> s(shape.size(), 1);
    for (int i = rank() - 2; i >= 0; --i) s[size_t(i)] = s[size_t(i + 1)] * shape[size_t(i + 1)];
    return s;
  }
};

template <class To, class From>
Tensor<To> tensor_cast(const Tensor<From>& t) {
  Tensor<To> out;
  out.shape = t.shape;
  out.data.assign(t.data.begin(), t.data.end());
  return out;
}

} // namespace netc
